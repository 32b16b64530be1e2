// Parameter bytes and multiply-accumulates (MACs) of Keras layer calls.
//
// Counted as for ONNX (src/formats/onnx/onnx_costs.cpp): one MAC per
// multiply-add of a matrix product or convolution, one per output element
// for elementwise layers and activations, a small constant per element for
// normalisations and softmax, nothing for layers that only move data.
// NB: "unknown rather than wrong": a layer not in these tables (custom
// layers, Lambda, keras.ops calls other than elementwise ones), a shape not
// known, a config that does not fit the shapes or a count over 64 bits gives
// macs_known = false.
#include "keras_costs.h"

#include <map>
#include <set>
#include <string>

#include "modelcut/error.h"
#include "util/checked_math.h"

namespace modelcut::keras {
namespace {

using Count = std::optional<std::uint64_t>;
using Shape = std::vector<std::uint64_t>;

Count times(Count a, Count b) { return a && b ? checked_mul(*a, *b) : std::nullopt; }
Count plus(Count a, Count b) { return a && b ? checked_add(*a, *b) : std::nullopt; }

Count product(const std::optional<Shape>& shape) {
  if (!shape) return std::nullopt;
  Count total = 1;
  for (std::uint64_t size : *shape) total = times(total, size);
  return total;
}

// Layers that only move, reshape or select data, or do nothing at inference.
const std::set<std::string>& data_movement_layers() {
  static const std::set<std::string> layers = {
      "InputLayer",    "Reshape",          "Flatten",          "Permute",
      "RepeatVector",  "Concatenate",      "Cropping1D",       "Cropping2D",
      "Cropping3D",    "ZeroPadding1D",    "ZeroPadding2D",    "ZeroPadding3D",
      "Dropout",       "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
      "GaussianNoise", "GaussianDropout",  "AlphaDropout",     "ActivityRegularization",
      "Identity",      "Embedding",        "Masking",          "Cast"};
  return layers;
}

// One value per output element.
const std::set<std::string>& elementwise_layers() {
  static const std::set<std::string> layers = {"ReLU",         "LeakyReLU",       "PReLU",
                                               "ELU",          "ThresholdedReLU", "UpSampling1D",
                                               "UpSampling2D", "UpSampling3D",    "Resizing"};
  return layers;
}

// Merging layers: one per output element for each input after the first.
const std::set<std::string>& merge_layers() {
  static const std::set<std::string> layers = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
  return layers;
}

// Multiply-adds per input element; the same constants as for ONNX.
const std::map<std::string, std::uint64_t>& per_element_layers() {
  static const std::map<std::string, std::uint64_t> layers = {{"BatchNormalization", 1},
                                                              {"LayerNormalization", 4},
                                                              {"GroupNormalization", 4},
                                                              {"UnitNormalization", 2},
                                                              {"RMSNormalization", 3},
                                                              {"Normalization", 1},
                                                              {"Rescaling", 1},
                                                              {"Softmax", 3},
                                                              {"GlobalAveragePooling1D", 1},
                                                              {"GlobalAveragePooling2D", 1},
                                                              {"GlobalAveragePooling3D", 1},
                                                              {"GlobalMaxPooling1D", 1},
                                                              {"GlobalMaxPooling2D", 1},
                                                              {"GlobalMaxPooling3D", 1}};
  return layers;
}

// keras.ops calls recorded as operations in a Keras 3 config.
const std::set<std::string>& elementwise_operations() {
  static const std::set<std::string> ops = {
      "Add",  "Subtract", "Multiply", "Divide", "TrueDivide", "Relu",   "Sigmoid", "Tanh",    "Exp",  "Log",
      "Sqrt", "Abs",      "Negative", "Gelu",   "Silu",       "Square", "Maximum", "Minimum", "Power"};
  return ops;
}

const std::set<std::string>& data_movement_operations() {
  static const std::set<std::string> ops = {"Reshape", "Transpose", "Concatenate", "ExpandDims", "Squeeze", "Cast",
                                            "Take",    "GetItem",   "Stack",       "Split",      "Flatten"};
  return ops;
}

// The number of spatial axes a class name states ("Conv2D",
// "Conv2DTranspose": 2), 0 when none.
std::size_t spatial_rank_of(const std::string& class_name) {
  for (std::size_t rank = 1; rank <= 3; ++rank) {
    if (class_name.find(std::to_string(rank) + "D") != std::string::npos) return rank;
  }
  return 0;
}

// A non-negative integer of the config, `fallback` when absent, nullopt when
// it is something else.
Count size_value(const Json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  return std::nullopt;
}

std::optional<std::uint64_t> size_of(const Json& config, const char* key, std::optional<std::uint64_t> fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  return size_value(*it);
}

// The product of an int or list of `rank` positive ints (kernel_size,
// pool_size).
Count window_of(const Json& config, const char* key, std::size_t rank) {
  const auto it = config.find(key);
  if (it == config.end() || rank == 0) return std::nullopt;
  auto positive = [](const Json& value) -> Count {
    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) return std::nullopt;
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  };
  if (it->is_number_integer()) {
    Count total = 1;
    for (std::size_t axis = 0; axis < rank; ++axis) total = times(total, positive(*it));
    return total;
  }
  if (!it->is_array() || it->size() != rank) return std::nullopt;
  Count total = 1;
  for (const Json& value : *it) total = times(total, positive(value));
  return total;
}

bool channels_first(const Json& config) {
  const auto it = config.find("data_format");
  return it != config.end() && it->is_string() && it->get<std::string>() == "channels_first";
}

class CallCounter {
 public:
  CallCounter(const KerasModel& model, const DimSizes& dims) : model_(model), dims_(dims) {}

  Count macs(NodeId id) const {
    const CallInfo& call = model_.calls[id];
    const LayerInfo& layer = model_.layers[call.layer];
    const std::string& name = layer.class_name;
    static const Json kEmpty = Json::object();
    const Json* config = &kEmpty;
    if (layer.entry != nullptr && layer.entry->is_object()) {
      const auto it = layer.entry->find("config");
      if (it != layer.entry->end() && it->is_object()) config = &*it;
    }
    std::vector<std::optional<Shape>> inputs;
    for (std::size_t index : call.flat_order) {
      if (index < call.refs.size()) inputs.push_back(shape_of(call.refs[index]));
    }
    const Node& node = model_.dataflow.node(id);
    const std::optional<Shape> output = node.outputs.empty() ? std::nullopt : shape_of(node.outputs.front());
    const std::optional<Shape> input = inputs.empty() ? std::nullopt : inputs.front();

    if (!layer.is_layer) {
      if (data_movement_operations().count(name)) return 0;
      if (elementwise_operations().count(name)) return product(output);
      return std::nullopt;
    }
    if (data_movement_layers().count(name)) return 0;
    if (elementwise_layers().count(name)) return product(output);
    if (name == "Softmax" || name == "Activation") {
      // An Activation layer's softmax costs what the Softmax layer does.
      const auto activation = config->find("activation");
      const bool softmax = name == "Softmax" || (activation != config->end() && activation->is_string() &&
                                                 activation->get<std::string>() == "softmax");
      if (softmax) return times(product(input), per_element_layers().at("Softmax"));
      return product(output);
    }
    if (merge_layers().count(name)) {
      const std::uint64_t count = inputs.size();
      return times(product(output), count > 1 ? count - 1 : 1);
    }
    if (auto found = per_element_layers().find(name); found != per_element_layers().end()) {
      return times(product(input), found->second);
    }
    if (name == "Dense") {
      if (!input || input->empty()) return std::nullopt;
      return times(product(output), input->back());
    }
    if (name == "EinsumDense") return einsum_dense(*config, input, output);
    const std::size_t rank = spatial_rank_of(name);
    if (name == "Conv1D" || name == "Conv2D" || name == "Conv3D") {
      // Each output element sums kernel x C_in/groups products.
      const Count in_channels = channels(*config, input, rank);
      const auto groups = size_of(*config, "groups", 1);
      if (!in_channels || !groups || *groups == 0 || *in_channels % *groups != 0) return std::nullopt;
      return times(times(product(output), window_of(*config, "kernel_size", rank)), *in_channels / *groups);
    }
    if (name == "Conv1DTranspose" || name == "Conv2DTranspose" || name == "Conv3DTranspose") {
      // Each input element is spread over kernel x filters outputs.
      return times(times(product(input), window_of(*config, "kernel_size", rank)), size_of(*config, "filters", {}));
    }
    if (name == "DepthwiseConv1D" || name == "DepthwiseConv2D") {
      return times(product(output), window_of(*config, "kernel_size", rank));
    }
    if (name == "SeparableConv1D" || name == "SeparableConv2D") return separable(*config, input, output, rank);
    if (name == "MaxPooling1D" || name == "MaxPooling2D" || name == "MaxPooling3D" || name == "AveragePooling1D" ||
        name == "AveragePooling2D" || name == "AveragePooling3D") {
      return times(product(output), window_of(*config, "pool_size", rank));
    }
    if (name == "MultiHeadAttention") return multi_head_attention(*config, inputs);
    if (name == "LSTM" || name == "GRU" || name == "SimpleRNN") {
      // Per step and batch item, every gate multiplies the input and the
      // state by its kernels.
      const std::uint64_t gates = name == "LSTM" ? 4 : name == "GRU" ? 3 : 1;
      const auto units = size_of(*config, "units", {});
      if (!input || input->size() != 3 || !units) return std::nullopt;
      return times(times(times((*input)[0], (*input)[1]), times(gates, *units)), plus((*input)[2], *units));
    }
    return std::nullopt;
  }

 private:
  std::optional<Shape> shape_of(ValueId id) const {
    const TensorInfo& info = model_.dataflow.value(id).info;
    if (!info.has_shape) return std::nullopt;
    Shape shape;
    for (const Dim& dim : info.dims) shape.push_back(dims_.size_of(dim));
    return shape;
  }

  static Count channels(const Json& config, const std::optional<Shape>& input, std::size_t rank) {
    if (!input || input->size() != rank + 2) return std::nullopt;
    return channels_first(config) ? (*input)[1] : input->back();
  }

  // Depthwise (kernel per input channel and multiplier) then pointwise (1x1
  // to `filters`); the depthwise result has the output's positions.
  static Count separable(const Json& config, const std::optional<Shape>& input, const std::optional<Shape>& output,
                         std::size_t rank) {
    const Count in_channels = channels(config, input, rank);
    const auto filters = size_of(config, "filters", {});
    const auto multiplier = size_of(config, "depth_multiplier", 1);
    const Count outputs = product(output);
    if (!in_channels || !filters || *filters == 0 || !multiplier || !outputs || *outputs % *filters != 0) {
      return std::nullopt;
    }
    const Count depthwise = times(times(*outputs / *filters, *in_channels), *multiplier);
    return plus(times(depthwise, window_of(config, "kernel_size", rank)), times(depthwise, *filters));
  }

  // "abc,cd->abd": each output element sums over the input's letters that
  // the output does not keep, sized by the input's shape.
  static Count einsum_dense(const Json& config, const std::optional<Shape>& input, const std::optional<Shape>& output) {
    const auto it = config.find("equation");
    if (it == config.end() || !it->is_string() || !input) return std::nullopt;
    const std::string equation = it->get<std::string>();
    const std::size_t comma = equation.find(',');
    const std::size_t arrow = equation.find("->");
    if (comma == std::string::npos || arrow == std::string::npos || arrow < comma) return std::nullopt;
    const std::string term = equation.substr(0, comma);
    const std::string kept = equation.substr(arrow + 2);
    const std::size_t dots = term.find("...");
    const std::string letters = dots == std::string::npos ? term : term.substr(0, dots) + term.substr(dots + 3);
    if (letters.size() > input->size() || (dots == std::string::npos && letters.size() != input->size())) {
      return std::nullopt;
    }
    const std::size_t before = dots == std::string::npos ? letters.size() : dots;
    const std::size_t skipped = input->size() - letters.size();
    Count reduced = 1;
    for (std::size_t i = 0; i < letters.size(); ++i) {
      if (kept.find(letters[i]) == std::string::npos) reduced = times(reduced, (*input)[i < before ? i : i + skipped]);
    }
    return times(product(output), reduced);
  }

  // A [batch, length, width] shape of an attention input: the build shape
  // the config records ("query_shape", ...), its unknown sizes from the
  // call's input (`fallback`), the batch from the query.
  Count attention_dim(const Json& config, const char* key, const std::optional<Shape>& fallback,
                      std::size_t axis) const {
    const auto it = config.find(key);
    if (it != config.end() && it->is_array() && it->size() == 3) {
      if (const Count size = size_value((*it)[axis])) return size;
    }
    if (!fallback || fallback->size() != 3) return std::nullopt;
    return (*fallback)[axis];
  }

  // Projections of query, key and value to heads x key_dim (value_dim),
  // scores and their weighted sum per head, softmax, and the output
  // projection back to the query's width (or output_shape). NB: keyword
  // arguments reach the call's inputs in name order ("key" before "query"),
  // so widths and lengths come from the build shapes in the config where
  // it records them, and the query and value inputs (the positional
  // arguments) only fill in what it leaves open.
  Count multi_head_attention(const Json& config, const std::vector<std::optional<Shape>>& inputs) const {
    if (inputs.size() < 2 || !inputs[0] || inputs[0]->size() != 3) return std::nullopt;
    const std::uint64_t batch = (*inputs[0])[0];
    const Count query_length = attention_dim(config, "query_shape", inputs[0], 1);
    const Count query_in = attention_dim(config, "query_shape", inputs[0], 2);
    const Count value_length = attention_dim(config, "value_shape", inputs[1], 1);
    const Count value_in = attention_dim(config, "value_shape", inputs[1], 2);
    const auto key_shape = config.find("key_shape");
    const bool own_key = key_shape != config.end() && key_shape->is_array();
    const Count key_in = own_key ? attention_dim(config, "key_shape", std::nullopt, 2) : value_in;
    const auto heads = size_of(config, "num_heads", {});
    const auto key_dim = size_of(config, "key_dim", {});
    if (!heads || !key_dim) return std::nullopt;
    const auto value_dim = size_of(config, "value_dim", *key_dim);
    if (!value_dim) return std::nullopt;
    Count output_width = query_in;
    const auto shape = config.find("output_shape");
    if (shape != config.end() && !shape->is_null()) {
      // A width, or a shape of one axis; other shapes: not counted here.
      output_width = shape->is_array() && shape->size() == 1 ? size_value((*shape)[0]) : size_value(*shape);
    }
    const Count queries = times(batch, query_length);
    const Count keys = times(batch, value_length);
    const Count query_width = times(*heads, *key_dim);
    const Count value_width = times(*heads, *value_dim);
    const Count projections =
        plus(plus(times(times(queries, query_in), query_width), times(times(keys, key_in), query_width)),
             times(times(keys, value_in), value_width));
    const Count scores = times(queries, value_length);
    const Count attention = plus(times(scores, plus(query_width, value_width)),
                                 times(times(scores, *heads), per_element_layers().at("Softmax")));
    return plus(plus(projections, attention), times(times(queries, value_width), output_width));
  }

  const KerasModel& model_;
  const DimSizes& dims_;
};

// Bytes of a layer's stored weights, from the dataset headers.
std::uint64_t layer_weight_bytes(const KerasModel& model, const LayerInfo& layer) {
  std::vector<std::string> datasets;
  if (!layer.weight_group.empty()) {
    datasets = h5::datasets_below(model.weights, layer.weight_group);
  } else {
    for (const std::string& weight : layer.legacy_weights) datasets.push_back(layer.legacy_group + "/" + weight);
  }
  std::uint64_t total = 0;
  for (const std::string& dataset : datasets) {
    // A size over 64 bits is no size a file holds: saturate rather than wrap.
    total = checked_add(total, h5::dataset_bytes(model.weights, dataset).value_or(0)).value_or(UINT64_MAX);
  }
  return total;
}

}  // namespace

std::vector<NodeCost> keras_node_costs(const KerasModel& model, const DimSizes& dims) {
  std::vector<NodeCost> costs(model.dataflow.nodes().size());
  if (model.calls.size() != costs.size()) {
    for (NodeCost& cost : costs) cost.macs_known = false;
    return costs;
  }
  std::set<std::size_t> counted;
  const CallCounter counter(model, dims);
  for (NodeId id : model.dataflow.topological_order()) {
    NodeCost& cost = costs[id];
    const std::size_t layer = model.calls[id].layer;
    if (layer < model.layers.size() && counted.insert(layer).second) {
      try {
        cost.param_bytes = layer_weight_bytes(model, model.layers[layer]);
      } catch (const Error&) {
        cost.param_bytes = 0;  // the weights could not be listed: reading them fails later, by name
      }
    }
    Count macs;
    try {
      macs = layer < model.layers.size() ? counter.macs(id) : std::nullopt;
    } catch (const Json::exception&) {
      macs = std::nullopt;
    }
    cost.macs = macs.value_or(0);
    cost.macs_known = macs.has_value();
  }
  return costs;
}

}  // namespace modelcut::keras
