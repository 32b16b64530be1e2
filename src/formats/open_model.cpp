// Choosing the format adapter for a file, by its first bytes: a zip archive
// is a Keras 3 ".keras" file, an HDF5 file a legacy Keras ".h5" file, and
// anything else is read as ONNX (a protobuf has no magic number).
#include <fstream>

#include "modelcut/error.h"
#include "source_model.h"

namespace modelcut {

namespace onnx {
std::unique_ptr<SourceModel> open_onnx_source(const std::filesystem::path& path,
                                              const std::vector<std::string>& type_hints);
std::pair<std::size_t, std::size_t> merge_onnx_files(const std::vector<std::filesystem::path>& paths,
                                                     const std::filesystem::path& output);
}  // namespace onnx

namespace {

enum class Format { Onnx, KerasZip, KerasHdf5 };

Format sniff_format(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[8] = {};
  file.read(magic, sizeof magic);
  const std::string head(magic, static_cast<std::size_t>(file.gcount()));
  if (head.rfind("PK\x03\x04", 0) == 0) return Format::KerasZip;
  if (head == std::string("\x89HDF\r\n\x1a\n", 8)) return Format::KerasHdf5;
  return Format::Onnx;
}

}  // namespace

std::unique_ptr<SourceModel> open_source_model(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints) {
  switch (sniff_format(path)) {
    case Format::Onnx: return onnx::open_onnx_source(path, type_hints);
    case Format::KerasZip:
    case Format::KerasHdf5: break;
  }
  fail(quoted(path.string()), ": Keras files are not supported yet; export the model to ONNX");
}

std::pair<std::size_t, std::size_t> merge_source_parts(const std::vector<std::filesystem::path>& parts,
                                                       const std::filesystem::path& output) {
  for (const auto& part : parts) {
    if (sniff_format(part) != Format::Onnx) fail(quoted(part.string()), ": only ONNX parts can be merged");
  }
  return onnx::merge_onnx_files(parts, output);
}

}  // namespace modelcut
