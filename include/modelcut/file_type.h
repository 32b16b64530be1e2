// What kind of model file a path holds, judged by its first bytes: the one
// place where modelcut (C++ and Python) tells ONNX, Keras archives, HDF5
// files and frozen TensorFlow graphs apart. ONNX has no magic number, so
// anything unrecognised is ONNX, except a file named like a Keras model,
// which is reported as not Keras. A ".pb" file is protobuf of some kind: it
// is a TensorFlow GraphDef when its first byte is the tag of a GraphDef field
// (node, library, version, versions), ONNX when it is ONNX's ir_version tag
// (ONNX models are sometimes named .pb), and neither otherwise.
#pragma once

#include <filesystem>

namespace modelcut {

enum class FileType {
  Onnx,        // no other signature (and not named like Keras); also a missing file
  KerasZip,    // starts with "PK\3\4": a Keras 3 .keras archive
  Hdf5,        // the HDF5 signature: a legacy Keras .h5 file
  NotKeras,    // a regular file named .keras, .h5 or .hdf5 with neither signature
  TfGraphDef,  // a ".pb" file that starts like a TensorFlow GraphDef
  NotTfGraph,  // a ".pb" file that starts like neither a GraphDef nor ONNX
               // (or "saved_model.pb", a SavedModel's, which is not a graph)
};

// Reads at most the first 8 bytes, and only of a regular file, so that a
// FIFO or device given as the model cannot block here. Never throws.
FileType sniff_file_type(const std::filesystem::path& path);

// "onnx", "keras-zip", "hdf5", "not-keras", "tf-graphdef", "not-tf-graph"
// (the names Python sees).
const char* to_string(FileType type);

}  // namespace modelcut
