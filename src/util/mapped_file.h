// Read-only memory mapping of an input file. Graph structure is parsed
// through the mapping, touching only the pages it lives on; weight bytes are
// copied to outputs from the open descriptor by copy_file_range or through a
// small buffer (see Rope), so they are never mapped into this process's memory.
// Not copyable: views into it stay valid for the lifetime of the object.
// Only regular files are read: see check_input_file().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace modelcut {

// What `mode` (a stat st_mode) is, for messages: "a directory", "a named
// pipe (FIFO)", ...
const char* describe_file_type(unsigned mode);

class MappedFile {
 public:
  // Throws Error naming the path when the file cannot be opened or mapped,
  // or is not a regular file (checked on the open descriptor, and opened
  // non-blocking so that a FIFO put there meanwhile cannot hang the open).
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }
  int descriptor() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }
  // Offset in the file of a view into bytes().
  std::uint64_t offset_of(std::string_view view) const {
    return static_cast<std::uint64_t>(view.data() - static_cast<const char*>(data_));
  }

 private:
  std::filesystem::path path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
};

}  // namespace modelcut
