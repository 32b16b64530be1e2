// modelcut's public API: the whole pipeline behind one call each.
//
//   split_model:  load -> index -> resolve cut -> partition -> emit parts
//   merge_parts:  load parts -> check they chain -> emit one model
//   inspect_model: load -> index -> layers and candidate cut points
//
// Every function throws modelcut::Error, with a one-line message, for bad
// input; outputs are written under temporary names and renamed into place, so
// a failure leaves nothing behind. No file a call reads (a model, a part, the
// external data files they refer to) is ever replaced or deleted, whatever
// `overwrite` says. Only regular files are read (see check_input_file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "modelcut/error.h"

namespace modelcut {

struct ValueSummary {
  std::string name;
  std::string type;                    // "float32[batch,64,56,56]"
  std::optional<std::uint64_t> bytes;  // per batch item, when the shape is known
};

struct CutSummary {
  std::string spec;           // as given
  std::string kind;           // "tensor", "node" or "layer"
  std::string resolved_name;  // what it matched
  std::vector<std::string> values;
};

struct PartSummary {
  std::filesystem::path path;
  std::size_t node_count = 0;
  std::size_t initializer_count = 0;
  std::vector<ValueSummary> inputs, outputs;
};

// Where the weights of a part go.
enum class WeightMode {
  Auto,      // Inline, or External once a part's weights exceed external_threshold
  Inline,    // inside the part's .onnx file (limited by protobuf to under 2 GB)
  External,  // in a "<part>.onnx.data" file beside each part
  InPlace,   // not copied: parts are written beside the model and refer to
             // its weight file(s), or to the model file itself (ONNX runtimes
             // read external data only inside a model's own folder)
};

struct WeightOptions {
  WeightMode mode = WeightMode::Auto;
  std::uint64_t external_threshold = 1ull << 30;  // bytes, for Auto
  // Tensors smaller than this stay inside the part in External and InPlace
  // modes (as ONNX's own external data writer does).
  std::uint64_t small_tensor_bytes = 1024;
};

// Called as a part is written: (part index, bytes written, bytes to write).
using ProgressCallback = std::function<void(std::size_t, std::uint64_t, std::uint64_t)>;

struct SplitOptions {
  std::vector<std::string> cuts;  // K names give K+1 parts
  // Must not exist unless overwrite. With WeightMode::InPlace the parts go
  // beside the model instead: output_dir must then be empty or that folder.
  std::filesystem::path output_dir;
  bool overwrite = false;
  // Files the caller read besides the model (a plan's profiles): like the
  // model's own files, never replaced or deleted by the output.
  std::vector<std::filesystem::path> also_read;
  // Serialized models whose value_info gives types the source lacks (e.g. the
  // output of ONNX shape inference on structure_only()).
  std::vector<std::string> type_hints;
  WeightOptions weights;
  ProgressCallback progress;
};

struct SplitResult {
  std::vector<CutSummary> cuts;
  std::vector<PartSummary> parts;  // in chain order; files sort in that order too
};

SplitResult split_model(const std::filesystem::path& model, const SplitOptions& options);

// What each name in `cuts` resolves to, as split_model would cut there,
// without partitioning or writing anything. Throws Error for the first name
// that does not resolve.
std::vector<CutSummary> resolve_cuts(const std::filesystem::path& model, const std::vector<std::string>& cuts,
                                     const std::vector<std::string>& type_hints = {});

struct MergeResult {
  std::filesystem::path path;
  std::size_t node_count = 0;
  std::size_t initializer_count = 0;
};

MergeResult merge_parts(const std::vector<std::filesystem::path>& parts, const std::filesystem::path& output,
                        bool overwrite = false);

struct LayerSummary {
  std::string name;
  std::size_t depth = 0;  // 1 for top-level layers
  std::size_t node_count = 0;
  std::vector<ValueSummary> outputs;
};

struct CutCandidate {
  ValueSummary value;                       // the one computed value crossing this cut
  std::string layer;                        // the innermost layer that produces it, if any
  std::vector<std::string> passed_through;  // graph inputs that cross with it
  std::uint64_t crossing_bytes = 0;         // per batch item
  bool bytes_known = true;
};

struct InspectReport {
  std::string path;
  std::string format;  // "onnx", "keras", "tf-graphdef"
  std::string producer;
  // The format's version: ONNX ir_version, the Keras version's major number,
  // a GraphDef's versions.producer.
  std::int64_t ir_version = 0;
  std::vector<std::pair<std::string, std::int64_t>> opsets;
  std::size_t node_count = 0;
  std::size_t initializer_count = 0;
  std::vector<ValueSummary> inputs, outputs;
  std::vector<LayerSummary> layers;
  std::vector<CutCandidate> cut_points;  // in the order the model computes them
};

InspectReport inspect_model(const std::filesystem::path& model, const std::vector<std::string>& type_hints = {});

// Throws Error unless `path` is a regular file. Checked with stat, before the
// file is opened: opening a FIFO for reading blocks until a writer comes, and
// a device may never end.
void check_input_file(const std::filesystem::path& path);

// Every file that reading `model` involves: the model file itself and, for
// ONNX, the external data files its weights lie in. Throws Error when one of
// them cannot be read or is not a regular file.
std::vector<std::filesystem::path> input_files(const std::filesystem::path& model);

// The model without its large weights, for shape inference in bounded memory.
std::string structure_only(const std::filesystem::path& model);

}  // namespace modelcut
