// Opening the container of a Keras model (see keras_container.h).
#include "keras_container.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "keras_config.h"
#include "modelcut/error.h"
#include "modelcut/file_type.h"
#include "modelcut/modelcut.h"
#include "zip_archive.h"
#include "zip_stored_member.h"

namespace modelcut::keras {
namespace fs = std::filesystem;

ScratchFile::ScratchFile() {
  std::error_code error;
  const fs::path folder = fs::temp_directory_path(error);
  if (error) fail("cannot find the temporary folder: ", error.message());
  descriptor_ = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (descriptor_ < 0) {  // a file system without O_TMPFILE
    std::string pattern = (folder / "modelcut-keras-XXXXXX").string();
    descriptor_ = mkostemp(pattern.data(), O_CLOEXEC);
    if (descriptor_ < 0) fail("cannot create a temporary file in ", quoted(folder.string()));
    path_ = pattern;
    named_ = true;
  }
  const fs::path by_descriptor = "/proc/self/fd/" + std::to_string(descriptor_);
  if (fs::exists(by_descriptor, error)) {
    if (named_) ::unlink(path_.c_str());
    named_ = false;
    path_ = by_descriptor;
  } else if (!named_) {
    ::close(descriptor_);
    fail("cannot create a temporary file in ", quoted(folder.string()), " (no /proc/self/fd)");
  }
}

ScratchFile::~ScratchFile() {
  if (named_) ::unlink(path_.c_str());
  if (descriptor_ >= 0) ::close(descriptor_);
}

// A compressed member (a re-zipped archive) is extracted to a file of our
// own in the temporary folder, which HDF5 keeps open.
void extract_weights(KerasModel& model, const ZipReader& archive, const fs::path& path) {
  const std::string where = quoted(path.string());
  const ScratchFile weights_file;  // HDF5 opens it again by path and keeps it open
  // A compressed entry may shrink by what HDF5 padding and zero tensors
  // allow, not by the thousands a zip bomb needs. h5py writes no user
  // block, so the HDF5 signature is at offset 0.
  ZipReader::ExtractLimits limits;
  limits.max_bytes = std::uint64_t{1} << 40;
  limits.free_expansion = std::uint64_t{64} << 20;
  limits.max_ratio = 16;
  limits.magic = std::string("\x89HDF\r\n\x1a\n", 8);
  limits.kind = "an HDF5 file";
  archive.extract("model.weights.h5", weights_file.descriptor(), limits);
  try {
    model.weights = h5::File::open_read(weights_file.path(), path.string() + ":model.weights.h5");
  } catch (const Error&) {
    fail(where, ": model.weights.h5 in the archive is not an HDF5 file");
  }
}

void open_container(KerasModel& model, const fs::path& path) {
  const std::string where = quoted(path.string());
  const bool is_zip = sniff_file_type(path) == FileType::KerasZip;

  if (is_zip) {
    model.container = Container::Zip;
    ZipReader archive(path);
    if (!archive.has("config.json")) fail(where, ": not a Keras archive: it has no config.json");
    model.root = parse_json(archive.read("config.json", kMaxConfigBytes), "config.json", path.string());
    if (archive.has("metadata.json")) {
      model.metadata = archive.read("metadata.json", kMaxMetadataBytes);
      const Json metadata = parse_json(model.metadata, "metadata.json", path.string());
      model.keras_version = string_or(metadata, "keras_version");
    }
    if (!archive.has("model.weights.h5")) {
      if (archive.has("model.weights.npz")) fail(where, ": weights stored as model.weights.npz are not supported");
      if (archive.has("model.weights.json")) fail(where, ": sharded weights (model.weights.json) are not supported");
      fail(where, ": not a Keras archive: it has no model.weights.h5");
    }
    // Keras stores the weights uncompressed: then they are read in place,
    // where they are in the archive, and parts copy them from there.
    const std::string shown = path.string() + ":model.weights.h5";
    std::optional<h5::FileSpan> span;
    if (auto size = archive.stored_size("model.weights.h5")) span = find_stored_member(path, "model.weights.h5", *size);
    if (span) {
      if (!h5::has_signature(path, *span)) fail(where, ": model.weights.h5 is not an HDF5 file");
      try {
        model.weights = h5::File::open_read_at(path, *span, shown);
      } catch (const Error&) {
        fail(where, ": model.weights.h5 in the archive is not an HDF5 file");
      }
    } else {
      extract_weights(model, archive, path);
    }
    h5::refuse_outside_references(model.weights);
    model.keras3 = true;
  } else {
    model.container = Container::Hdf5;
    try {
      model.weights = h5::File::open_read(path);
    } catch (const Error&) {
      fail(where, ": not a Keras file (neither a .keras zip archive nor an HDF5 .h5 file)");
    }
    h5::refuse_outside_references(model.weights);
    auto config = h5::read_string_attribute(model.weights, "", "model_config");
    if (!config) {
      fail(where, ": an HDF5 file without a model_config attribute: weights only, not a whole Keras model");
    }
    if (config->size() > kMaxConfigBytes) {
      fail(where, ": the model_config attribute is ", config->size(), " bytes, more than the ", kMaxConfigBytes,
           " accepted");
    }
    model.root = parse_json(*config, "the model_config attribute", path.string());
    model.keras_version = h5::read_string_attribute(model.weights, "", "keras_version").value_or("");
    model.backend = h5::read_string_attribute(model.weights, "", "backend").value_or("");
    const int major = major_version(model.keras_version);
    model.keras3 = major >= 3 || (major == 0 && has_keras3_nodes(model.root));
  }
}

Json read_model_config(const fs::path& path) {
  check_input_file(path);  // before any open: a FIFO would block it
  KerasModel model;
  open_container(model, path);
  return std::move(model.root);
}

}  // namespace modelcut::keras
