// What the three libFuzzer targets share: a private scratch folder per
// process (the model readers need a file path, and the Keras reader extracts
// weights under the temporary folder), and one walk through the pipeline
// that every format takes once its model is open.
//
// modelcut::Error is the clean outcome for bad input and is caught; anything
// else (another exception, a sanitizer report, a hang, a huge allocation)
// is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace modelcut::fuzz {

// Writes the input to `file_name` in this process's scratch folder (created
// on first use, under /dev/shm when it is writable, and set as TMPDIR so the
// readers' own temporary folders land there too) and returns its path.
std::filesystem::path write_input(const std::uint8_t* data, std::size_t size, const std::string& file_name);

// Aborts when anything but the input file is left in the scratch folder: a
// reader must remove its temporary folders whether it succeeds or fails.
void check_nothing_left_behind(const std::filesystem::path& input);

// inspect_model, then the model's node costs (which must not throw), and its
// dataflow through the layer index, cut
// resolution (layer, node and tensor names, and misspelled ones) and
// partitioning at a few places. Parts are not written.
void exercise_pipeline(const std::filesystem::path& model);

}  // namespace modelcut::fuzz
