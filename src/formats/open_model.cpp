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

#ifdef MODELCUT_HAVE_KERAS
namespace keras {
std::unique_ptr<SourceModel> open_keras_source(const std::filesystem::path& path);
}  // namespace keras
#endif

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

// A file named like a Keras model that is neither a zip archive nor HDF5 is
// reported as such rather than as a broken ONNX file.
bool named_like_keras(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".keras" || extension == ".h5" || extension == ".hdf5";
}

}  // namespace

std::unique_ptr<SourceModel> open_source_model(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints) {
  check_input_file(path);  // before any open: a FIFO would block it
  switch (sniff_format(path)) {
    case Format::Onnx:
      if (named_like_keras(path) && std::filesystem::is_regular_file(path)) {
        fail(quoted(path.string()), ": not a Keras file (neither a .keras zip archive nor an HDF5 .h5 file)");
      }
      return onnx::open_onnx_source(path, type_hints);
    case Format::KerasZip:
    case Format::KerasHdf5: break;
  }
#ifdef MODELCUT_HAVE_KERAS
  return keras::open_keras_source(path);
#else
  fail(quoted(path.string()), ": this modelcut was built without Keras support (MODELCUT_KERAS=OFF)");
#endif
}

std::pair<std::size_t, std::size_t> merge_source_parts(const std::vector<std::filesystem::path>& parts,
                                                       const std::filesystem::path& output) {
  for (const auto& part : parts) {
    if (sniff_format(part) != Format::Onnx) {
      fail(quoted(part.string()), ": merging Keras parts is not supported; only ONNX parts can be merged");
    }
  }
  return onnx::merge_onnx_files(parts, output);
}

}  // namespace modelcut
