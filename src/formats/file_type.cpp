// File type sniffing by signature (see include/modelcut/file_type.h). The
// signatures: a zip local file header "PK\3\4" and the 8-byte HDF5 format
// signature at offset 0 (the HDF5 spec also allows a user block before it,
// which Keras never writes).
#include "modelcut/file_type.h"

#include <fstream>
#include <string>
#include <system_error>

namespace modelcut {
namespace {

bool named_like_keras(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".keras" || extension == ".h5" || extension == ".hdf5";
}

}  // namespace

FileType sniff_file_type(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return FileType::Onnx;
  std::ifstream file(path, std::ios::binary);
  char magic[8] = {};
  file.read(magic, sizeof magic);
  const std::string head(magic, static_cast<std::size_t>(file.gcount()));
  if (head.rfind("PK\x03\x04", 0) == 0) return FileType::KerasZip;
  if (head == std::string("\x89HDF\r\n\x1a\n", 8)) return FileType::Hdf5;
  return named_like_keras(path) ? FileType::NotKeras : FileType::Onnx;
}

const char* to_string(FileType type) {
  switch (type) {
    case FileType::Onnx:
      return "onnx";
    case FileType::KerasZip:
      return "keras-zip";
    case FileType::Hdf5:
      return "hdf5";
    case FileType::NotKeras:
      return "not-keras";
  }
  return "onnx";
}

}  // namespace modelcut
