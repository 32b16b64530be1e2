// Choosing the format adapter for a file, by its first bytes (see
// modelcut/file_type.h): a zip archive is a Keras 3 ".keras" file, an HDF5
// file a legacy Keras ".h5" file, and anything else is read as ONNX.
#include "modelcut/error.h"
#include "modelcut/file_type.h"
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

std::unique_ptr<SourceModel> open_source_model(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints) {
  check_input_file(path);  // before any open: a FIFO would block it
  switch (sniff_file_type(path)) {
    case FileType::Onnx:
      return onnx::open_onnx_source(path, type_hints);
    // A file named like a Keras model is reported as such rather than as a
    // broken ONNX file.
    case FileType::NotKeras:
      fail(quoted(path.string()), ": not a Keras file (neither a .keras zip archive nor an HDF5 .h5 file)");
    case FileType::KerasZip:
    case FileType::Hdf5:
      break;
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
    const FileType type = sniff_file_type(part);
    if (type == FileType::KerasZip || type == FileType::Hdf5) {
      fail(quoted(part.string()), ": merging Keras parts is not supported; only ONNX parts can be merged");
    }
  }
  return onnx::merge_onnx_files(parts, output);
}

}  // namespace modelcut
