// Finding where the bytes of a zip member stored uncompressed lie in the
// archive, so that it can be read in place instead of extracted: Keras
// writes model.weights.h5 stored. The archive's own directory is read
// (zip64 included) and checked against the member's local header; any
// doubt gives nullopt, and the caller extracts the member with libzip
// (zip_archive.h), which makes all its own checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "hdf5_guard.h"

namespace modelcut::keras {

// The span of the member `name` of the zip archive at `path`, when it is
// stored (method 0, not encrypted) and listed once; nullopt otherwise.
// `expected_size` is the size libzip reports, which the span must match.
std::optional<h5::FileSpan> find_stored_member(const std::filesystem::path& path, const std::string& name,
                                               std::uint64_t expected_size);

}  // namespace modelcut::keras
