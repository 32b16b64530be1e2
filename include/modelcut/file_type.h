// What kind of model file a path holds, judged by its first bytes: the one
// place where modelcut (C++ and Python) tells ONNX, Keras archives and HDF5
// files apart. ONNX has no magic number, so anything unrecognised is ONNX,
// except a file named like a Keras model, which is reported as not Keras.
#pragma once

#include <filesystem>

namespace modelcut {

enum class FileType {
  Onnx,      // no other signature (and not named like Keras); also a missing file
  KerasZip,  // starts with "PK\3\4": a Keras 3 .keras archive
  Hdf5,      // the HDF5 signature: a legacy Keras .h5 file
  NotKeras,  // a regular file named .keras, .h5 or .hdf5 with neither signature
};

// Reads at most the first 8 bytes, and only of a regular file, so that a
// FIFO or device given as the model cannot block here. Never throws.
FileType sniff_file_type(const std::filesystem::path& path);

// "onnx", "keras-zip", "hdf5", "not-keras" (the names Python sees).
const char* to_string(FileType type);

}  // namespace modelcut
