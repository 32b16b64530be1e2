// Choosing the format adapter for a file, by its first bytes (see
// modelcut/file_type.h): a zip archive is a Keras 3 ".keras" file, an HDF5
// file a legacy Keras ".h5" file, a ".pb" file that starts like a GraphDef a
// frozen TensorFlow graph, and anything else is read as ONNX.
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

namespace tf {
std::unique_ptr<SourceModel> open_graphdef_source(const std::filesystem::path& path);
}  // namespace tf

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
    case FileType::TfGraphDef:
      return tf::open_graphdef_source(path);
    case FileType::NotTfGraph:
      if (path.filename() == "saved_model.pb") {
        // A SavedModel is read from its folder (variables/ and assets/ beside this file).
        const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
        fail(quoted(path.string()), ": a SavedModel's saved_model.pb, not a graph; pass the SavedModel's folder ",
             quoted(folder.string()), " instead");
      }
      if (std::filesystem::file_size(path) == 0) fail(quoted(path.string()), ": empty file, not a TensorFlow GraphDef");
      fail(quoted(path.string()), ": not a frozen TensorFlow GraphDef (binary protobuf) nor an ONNX model: ",
           "it does not start with a field of either");
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
    if (type == FileType::TfGraphDef || type == FileType::NotTfGraph) {
      fail(quoted(part.string()), ": merging TensorFlow parts is not supported; only ONNX parts can be merged");
    }
  }
  return onnx::merge_onnx_files(parts, output);
}

}  // namespace modelcut
