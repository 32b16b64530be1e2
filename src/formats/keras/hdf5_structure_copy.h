// Copying an HDF5 group (a Keras layer's state) to another file without
// passing its data through libhdf5: the groups, their string attributes and
// the datasets are made in the target with their space allocated, and each
// dataset's bytes are listed as a raw copy (source offset -> target offset)
// for the caller to make with pread/pwrite, the way a file copy would.
// Only plain datasets qualify (contiguous, unfiltered, fixed-size numbers);
// for anything else the caller copies the group with h5::copy_object.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "hdf5_file.h"

namespace modelcut::keras::h5 {

// Bytes to copy: `size` bytes from `source_offset` of the file open as the
// source's descriptor() (offsets include its span) to `target_offset` of the
// target file (offsets include its user block).
struct RawCopy {
  std::uint64_t source_offset = 0;
  std::uint64_t target_offset = 0;
  std::uint64_t size = 0;
  std::string source_path;  // the dataset, for messages
};

// Copies the group at `source_path` with everything below it to
// `target_path` in `target` (missing parents are made), appending the data
// to copy to `raw`. Returns false, having changed nothing, when the group
// holds anything but groups with scalar string attributes and plain
// datasets without attributes, reached by hard links, each once. Throws
// Error when a dataset's data lies outside the source file. Attributes
// listed in `left_out` ({group relative to source_path, attribute name})
// are not copied: the caller writes them (leaving out what the caller
// rewrites anyway saves reading it).
bool copy_structure(const File& source, const std::string& source_path, File& target, const std::string& target_path,
                    std::vector<RawCopy>& raw, const std::set<std::pair<std::string, std::string>>& left_out = {});

}  // namespace modelcut::keras::h5
