// File type sniffing by signature (see include/modelcut/file_type.h). The
// signatures: a zip local file header "PK\3\4" and the 8-byte HDF5 format
// signature at offset 0 (the HDF5 spec also allows a user block before it,
// which Keras never writes). GraphDef and ONNX files are protobuf without a
// signature: for ".pb" files the first byte, a field tag, tells them apart.
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

// The first byte of a protobuf message is the tag of its first field.
// TensorFlow writes GraphDef fields in number order: node (1), library (2),
// version (3), versions (4); ONNX writes ir_version (1, a varint) first.
FileType sniff_protobuf(const std::filesystem::path& path, const std::string& head) {
  if (path.filename() == "saved_model.pb") return FileType::NotTfGraph;
  if (head.empty()) return FileType::NotTfGraph;
  switch (static_cast<unsigned char>(head[0])) {
    case 0x0a:  // node, length-delimited
    case 0x12:  // library
    case 0x18:  // version, a varint
    case 0x22:  // versions
      return FileType::TfGraphDef;
    case 0x08:  // ONNX's ir_version
      return FileType::Onnx;
    default:
      return FileType::NotTfGraph;
  }
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
  if (path.extension() == ".pb") return sniff_protobuf(path, head);
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
    case FileType::TfGraphDef:
      return "tf-graphdef";
    case FileType::NotTfGraph:
      return "not-tf-graph";
  }
  return "onnx";
}

}  // namespace modelcut
