// Reading the zip archives of the Keras 3 ".keras" format with libzip.
// Entries are read into memory only when small (the JSON files); the
// weights file is streamed to disk. Parts are written by PartArchive
// (keras_part_archive.h), not with libzip.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

struct zip;

namespace modelcut::keras {

class ZipReader {
 public:
  // Throws Error naming the path when it is not a readable zip archive.
  explicit ZipReader(const std::filesystem::path& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool has(const std::string& name) const;
  // The size of an entry stored uncompressed (as its directory says);
  // nullopt when it is absent or compressed.
  std::optional<std::uint64_t> stored_size(const std::string& name) const;
  // The whole entry; throws Error when it is larger than `max_bytes`.
  std::string read(const std::string& name, std::uint64_t max_bytes) const;
  // What an entry may be to be extracted. The sizes and the ratio are
  // checked against the archive's directory before extracting, and the
  // bytes actually decompressed against the directory while extracting.
  struct ExtractLimits {
    std::uint64_t max_bytes = 0;
    std::uint64_t free_expansion = 0;  // entries up to this size may be compressed at any ratio
    std::uint64_t max_ratio = 1;       // beyond it, size / compressed size at most this
    std::string magic;                 // the entry's first bytes, if not empty
    std::string kind;                  // what the magic says ("an HDF5 file")
  };
  // Streams the entry to the empty file open as `descriptor`; throws Error,
  // having written nothing or stopped as soon as a limit is broken.
  void extract(const std::string& name, int descriptor, const ExtractLimits& limits) const;

 private:
  std::filesystem::path path_;
  struct zip* archive_ = nullptr;
};

}  // namespace modelcut::keras
