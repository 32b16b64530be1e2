// Writing a part's ".keras" archive with its weights in place: the output
// file is at once the zip archive and, from byte 512 on, the HDF5 file that
// is its model.weights.h5 member (stored). HDF5's user block (the first 512
// bytes, which libhdf5 leaves alone) holds the member's zip local header;
// metadata.json, config.json and the zip directory follow the HDF5 file.
// libhdf5 writes only the weights' metadata; the weights' bytes are copied
// straight from the source file to their place (h5::RawCopy), and the
// member's CRC-32 is computed during that copy. A reader of the member sees
// an HDF5 file starting with its superblock (the library adjusts its base
// address), as Keras writes it. Same input, same bytes: zip times are
// fixed at 1980-01-01 00:00 (the first a zip time can hold) and modes at
// 0644, whatever the clock and umask.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hdf5_file.h"
#include "hdf5_structure_copy.h"

namespace modelcut::keras {

class PartArchive {
 public:
  // Creates `path` (a new file; the caller removes it on failure). Sizes
  // and offsets from `zip64_from` on are written as zip64 records (4 GiB -
  // 1, where zip needs them; tests lower it to cover them on small files).
  explicit PartArchive(const std::filesystem::path& path, std::uint64_t zip64_from = 0xFFFFFFFF);
  PartArchive(const PartArchive&) = delete;
  PartArchive& operator=(const PartArchive&) = delete;

  // The member's HDF5 file, to fill; list the data to copy in raw().
  h5::File& weights() { return weights_; }
  std::vector<h5::RawCopy>& raw() { return raw_; }

  // Closes the HDF5 file, copies the raw data from the file open as
  // `source_descriptor`, and completes the archive. Throws Error.
  void finish(int source_descriptor, const std::string& metadata, const std::string& config);

 private:
  std::filesystem::path path_;
  h5::File weights_;
  std::vector<h5::RawCopy> raw_;
  std::uint64_t zip64_from_;
};

}  // namespace modelcut::keras
