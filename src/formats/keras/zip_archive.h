// Reading and writing the zip archives of the Keras 3 ".keras" format with
// libzip. Entries are read into memory only when small (the JSON files);
// the weights file is streamed to and from disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

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
  // The whole entry; throws Error when it is larger than `max_bytes`.
  std::string read(const std::string& name, std::uint64_t max_bytes) const;
  // Streams the entry to a new file at `target`.
  void extract(const std::string& name, const std::filesystem::path& target) const;

 private:
  std::filesystem::path path_;
  struct zip* archive_ = nullptr;
};

struct ZipEntry {
  std::string name;
  std::string data;            // the content, unless `file` is set
  std::filesystem::path file;  // a file to store as the content
};

// Writes a new archive at `target` with the entries stored uncompressed,
// as Keras writes them. Throws Error naming `target`.
void write_zip(const std::filesystem::path& target, const std::vector<ZipEntry>& entries);

}  // namespace modelcut::keras
