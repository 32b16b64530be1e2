// Read-only memory mapping of an input file. The model's bytes are read
// through the mapping, so weights are paged in only when copied to an output
// and never held in memory as a whole. Not copyable: views into it stay valid
// for the lifetime of the object.
#pragma once

#include <filesystem>
#include <string_view>

namespace modelcut {

class MappedFile {
 public:
  // Throws Error naming the path when the file cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace modelcut
