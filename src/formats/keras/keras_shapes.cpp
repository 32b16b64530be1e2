// Output types of common Keras layers, from their config and input types.
//
// Keras 3 records the shape and dtype of every tensor a layer reads, but a
// legacy .h5 config records none, and a Sequential config only the build
// shape of each layer. A later part needs the type of every tensor crossing
// a cut, so modelcut follows shapes through the layers it knows; a layer it
// does not know (a custom layer, a Lambda) leaves its output unknown, and a
// cut that needs that output is refused with a clear message.
#include <algorithm>
#include <numeric>
#include <set>

#include "keras_model.h"

namespace modelcut::keras {
namespace {

using Dims = std::vector<std::int64_t>;

// Sizes are below 2^40 (as parse_shape in keras_config.cpp accepts them) or
// -1 for unknown; every computation goes through these, so that a size from
// a crafted config gives an unknown dimension, never an overflow.
constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;

std::int64_t checked_dim(std::int64_t size) { return size >= 0 && size < kMaxDim ? size : -1; }

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (b != 0 && a > (kMaxDim - 1) / b) return -1;
  return a * b;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b) {  // operands below kMaxDim: no overflow
  if (a < 0 || b < 0) return -1;
  return checked_dim(a + b);
}

std::int64_t int_or(const Json& config, const char* key, std::int64_t fallback) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_number_integer()) return fallback;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return fallback;
  return it->get<std::int64_t>();
}

// A size from the config (units, filters, ...), -1 when absent or out of range.
std::int64_t dim_or_unknown(const Json& config, const char* key) { return checked_dim(int_or(config, key, -1)); }

std::int64_t json_int(const Json& value) {
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    return INT64_MAX;
  }
  return value.get<std::int64_t>();
}

// An int or a list of ints, as n values.
std::optional<Dims> tuple_of(const Json& config, const char* key, std::size_t n, std::optional<std::int64_t> fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (!fallback) return std::nullopt;
    return Dims(n, *fallback);
  }
  if (it->is_number_integer()) return Dims(n, json_int(*it));
  if (!it->is_array() || it->size() != n) return std::nullopt;
  Dims values;
  for (const Json& value : *it) {
    if (!value.is_number_integer()) return std::nullopt;
    values.push_back(json_int(value));
  }
  return values;
}

bool channels_first(const Json& config) {
  auto it = config.find("data_format");
  return it != config.end() && it->is_string() && it->get<std::string>() == "channels_first";
}

std::string padding_of(const Json& config) {
  auto it = config.find("padding");
  return it != config.end() && it->is_string() ? it->get<std::string>() : "valid";
}

// Output size of a sliding window along one axis.
std::int64_t window_output(std::int64_t size, std::int64_t window, std::int64_t stride, std::int64_t dilation,
                           const std::string& padding) {
  if (size < 0 || stride <= 0 || stride >= kMaxDim || window <= 0 || window >= kMaxDim || dilation <= 0) return -1;
  if (padding == "same" || padding == "causal") return (size + stride - 1) / stride;
  const std::int64_t span = checked_mul(window - 1, dilation);
  if (span < 0) return -1;
  const std::int64_t effective = span + 1;
  if (size < effective) return 0;
  return (size - effective) / stride + 1;
}

// Axes of the spatial dimensions and of the channels, for rank-`rank` inputs.
struct Layout {
  std::size_t first_spatial;
  std::size_t channel;
};

Layout layout(const Json& config, std::size_t rank) {
  return channels_first(config) ? Layout{2, 1} : Layout{1, rank - 1};
}

std::optional<Dims> sliding(const Json& config, const Dims& x, std::size_t spatial,
                            std::optional<std::int64_t> channels, const char* window_key, const char* strides_key,
                            bool pooling) {
  if (x.size() != spatial + 2) return std::nullopt;
  const auto window = tuple_of(config, window_key, spatial, pooling ? std::optional<std::int64_t>(2) : std::nullopt);
  if (!window) return std::nullopt;
  auto strides = tuple_of(config, strides_key, spatial, pooling ? std::nullopt : std::optional<std::int64_t>(1));
  if (!strides) strides = window;  // pooling: strides default to the pool size
  const auto dilation = tuple_of(config, "dilation_rate", spatial, 1);
  if (!dilation) return std::nullopt;
  const std::string padding = padding_of(config);
  const Layout axes = layout(config, x.size());
  Dims out = x;
  for (std::size_t i = 0; i < spatial; ++i) {
    out[axes.first_spatial + i] =
        window_output(x[axes.first_spatial + i], (*window)[i], (*strides)[i], (*dilation)[i], padding);
  }
  if (channels) out[axes.channel] = *channels;
  return out;
}

std::optional<Dims> broadcast(const std::vector<TensorType>& inputs) {
  std::size_t rank = 0;
  for (const TensorType& input : inputs) {
    if (!input.has_shape) return std::nullopt;
    rank = std::max(rank, input.dims.size());
  }
  Dims out(rank, -1);
  for (std::size_t axis = 0; axis < rank; ++axis) {
    bool all_one = true;
    bool any_known = false;
    for (const TensorType& input : inputs) {
      const std::size_t offset = rank - input.dims.size();
      if (axis < offset) continue;
      const std::int64_t size = input.dims[axis - offset];
      if (size < 0) {
        all_one = false;
        continue;
      }
      any_known = true;
      if (size != 1) {
        out[axis] = size;
        all_one = false;
      }
    }
    if (any_known && all_one) out[axis] = 1;
  }
  return out;
}

std::int64_t product(const Dims& dims, std::size_t begin) {
  std::int64_t total = 1;
  for (std::size_t i = begin; i < dims.size(); ++i) {
    total = checked_mul(total, dims[i]);
    if (total < 0) return -1;
  }
  return total;
}

std::optional<Dims> infer_dims(const std::string& name, const Json& config, const std::vector<TensorType>& inputs) {
  const TensorType& first = inputs.front();
  if (!first.has_shape) return std::nullopt;
  const Dims& x = first.dims;
  static const std::set<std::string> same_shape = {"Activation",
                                                   "ReLU",
                                                   "LeakyReLU",
                                                   "PReLU",
                                                   "ELU",
                                                   "Softmax",
                                                   "ThresholdedReLU",
                                                   "Dropout",
                                                   "SpatialDropout1D",
                                                   "SpatialDropout2D",
                                                   "SpatialDropout3D",
                                                   "GaussianNoise",
                                                   "GaussianDropout",
                                                   "AlphaDropout",
                                                   "BatchNormalization",
                                                   "LayerNormalization",
                                                   "GroupNormalization",
                                                   "UnitNormalization",
                                                   "Rescaling",
                                                   "Normalization",
                                                   "ActivityRegularization",
                                                   "Masking",
                                                   "Identity"};
  if (same_shape.count(name)) return x;
  if (name == "Dense") {
    if (x.empty() || !config.contains("units")) return std::nullopt;
    Dims out = x;
    out.back() = dim_or_unknown(config, "units");
    return out;
  }
  if (name == "Add" || name == "Subtract" || name == "Multiply" || name == "Average" || name == "Maximum" ||
      name == "Minimum") {
    return broadcast(inputs);
  }
  if (name == "Concatenate") {
    const std::int64_t axis_value = int_or(config, "axis", -1);
    for (const TensorType& input : inputs) {
      if (!input.has_shape || input.dims.size() != x.size()) return std::nullopt;
    }
    const auto rank = static_cast<std::int64_t>(x.size());
    const std::int64_t axis = axis_value < 0 ? axis_value + rank : axis_value;
    if (axis < 0 || axis >= rank) return std::nullopt;
    Dims out = x;
    std::int64_t total = 0;
    for (const TensorType& input : inputs) {
      const std::int64_t size = input.dims[static_cast<std::size_t>(axis)];
      total = checked_add(total, size);
    }
    out[static_cast<std::size_t>(axis)] = total;
    return out;
  }
  if (name == "Flatten") return Dims{x.empty() ? -1 : x[0], product(x, 1)};
  if (name == "Reshape") {
    auto target = config.find("target_shape");
    if (target == config.end() || !target->is_array()) return std::nullopt;
    Dims out{x.empty() ? -1 : x[0]};
    std::int64_t known = 1;
    std::size_t unknown_axis = 0;
    for (const Json& size : *target) {
      if (!size.is_number_integer() || out.size() > 64) return std::nullopt;
      const std::int64_t value = json_int(size);
      if (value == -1) {
        if (unknown_axis != 0) return std::nullopt;  // at most one -1
        out.push_back(-1);
        unknown_axis = out.size() - 1;
      } else {
        if (checked_dim(value) < 0) return std::nullopt;
        out.push_back(value);
        known = checked_mul(known, value);
      }
    }
    if (unknown_axis != 0) {
      const std::int64_t total = product(x, 1);
      out[unknown_axis] = (total < 0 || known <= 0) ? -1 : total / known;
    }
    return out;
  }
  if (name == "Permute") {
    auto dims = config.find("dims");
    if (dims == config.end() || !dims->is_array()) return std::nullopt;
    Dims out{x.empty() ? -1 : x[0]};
    for (const Json& axis : *dims) {
      if (!axis.is_number_integer()) return std::nullopt;
      const auto index = axis.get<std::int64_t>();
      if (index < 1 || static_cast<std::size_t>(index) >= x.size()) return std::nullopt;
      out.push_back(x[static_cast<std::size_t>(index)]);
    }
    return out;
  }
  if (name == "RepeatVector") {
    if (x.size() != 2) return std::nullopt;
    return Dims{x[0], dim_or_unknown(config, "n"), x[1]};
  }
  if (name == "MultiHeadAttention") {  // the query's shape; output_shape replaces its last axis
    if (x.empty()) return std::nullopt;
    Dims out = x;
    auto it = config.find("output_shape");
    if (it != config.end() && !it->is_null()) {
      Dims tail;
      if (it->is_number_integer()) {
        tail.push_back(checked_dim(json_int(*it)));
      } else if (it->is_array() && it->size() <= 64) {
        for (const Json& size : *it) {
          if (!size.is_number_integer()) return std::nullopt;
          tail.push_back(checked_dim(json_int(size)));
        }
      } else {
        return std::nullopt;
      }
      out.pop_back();
      out.insert(out.end(), tail.begin(), tail.end());
    }
    return out;
  }
  if (name == "TFOpLambda") {  // tf-keras: a TensorFlow op applied to Keras tensors
    static const std::set<std::string> unary = {
        "nn.relu",    "nn.relu6",   "nn.gelu",       "nn.silu",     "nn.swish", "nn.elu",        "nn.selu",
        "nn.softmax", "nn.sigmoid", "math.sigmoid",  "math.tanh",   "math.exp", "math.log",      "math.sqrt",
        "math.rsqrt", "math.abs",   "math.negative", "math.square", "identity", "math.softplus", "nn.leaky_relu"};
    static const std::set<std::string> binary = {"math.multiply",     "math.add",          "math.subtract",
                                                 "math.truediv",      "math.divide",       "math.maximum",
                                                 "math.minimum",      "math.pow",          "__operators__.add",
                                                 "__operators__.sub", "__operators__.mul", "__operators__.truediv"};
    auto function = config.find("function");
    if (function == config.end() || !function->is_string()) return std::nullopt;
    if (unary.count(function->get<std::string>())) return x;
    if (binary.count(function->get<std::string>())) return broadcast(inputs);
    return std::nullopt;
  }
  if (name == "LSTM" || name == "GRU" || name == "SimpleRNN") {
    if (x.size() != 3) return std::nullopt;
    const bool sequences = config.contains("return_sequences") && config["return_sequences"].is_boolean() &&
                           config["return_sequences"].get<bool>();
    const std::int64_t units = dim_or_unknown(config, "units");
    return sequences ? Dims{x[0], x[1], units} : Dims{x[0], units};
  }
  if (name == "Embedding") {
    Dims out = x;
    out.push_back(dim_or_unknown(config, "output_dim"));
    return out;
  }
  for (std::size_t spatial = 1; spatial <= 3; ++spatial) {
    const std::string suffix = std::to_string(spatial) + "D";
    if (name == "GlobalAveragePooling" + suffix || name == "GlobalMaxPooling" + suffix ||
        name == "GlobalAvgPool" + suffix || name == "GlobalMaxPool" + suffix) {
      if (x.size() != spatial + 2) return std::nullopt;
      const Layout axes = layout(config, x.size());
      const bool keepdims =
          config.contains("keepdims") && config["keepdims"].is_boolean() && config["keepdims"].get<bool>();
      if (!keepdims) return Dims{x[0], x[axes.channel]};
      Dims out = x;
      for (std::size_t i = 0; i < spatial; ++i) out[axes.first_spatial + i] = 1;
      return out;
    }
    if (name == "Conv" + suffix) {
      return sliding(config, x, spatial, dim_or_unknown(config, "filters"), "kernel_size", "strides", false);
    }
    if (name == "SeparableConv" + suffix) {
      return sliding(config, x, spatial, dim_or_unknown(config, "filters"), "kernel_size", "strides", false);
    }
    if (name == "DepthwiseConv" + suffix) {
      if (x.size() != spatial + 2) return std::nullopt;
      const std::int64_t in = x[layout(config, x.size()).channel];
      const std::int64_t multiplier = int_or(config, "depth_multiplier", 1);
      return sliding(config, x, spatial, checked_mul(in, multiplier), "kernel_size", "strides", false);
    }
    if (name == "MaxPooling" + suffix || name == "AveragePooling" + suffix || name == "MaxPool" + suffix ||
        name == "AvgPool" + suffix) {
      return sliding(config, x, spatial, std::nullopt, "pool_size", "strides", true);
    }
    if (name == "ZeroPadding" + suffix || name == "Cropping" + suffix) {
      if (x.size() != spatial + 2) return std::nullopt;
      const char* key = name[0] == 'Z' ? "padding" : "cropping";
      const int sign = name[0] == 'Z' ? 1 : -1;
      auto amounts = config.find(key);
      if (amounts == config.end()) return std::nullopt;
      // An int, a list of ints (symmetric), or a list of pairs.
      std::vector<std::int64_t> totals;
      if (amounts->is_number_integer()) {
        totals.assign(spatial, checked_mul(2, checked_dim(json_int(*amounts))));
      } else if (amounts->is_array() && amounts->size() == spatial) {
        for (const Json& amount : *amounts) {
          if (amount.is_number_integer()) {
            totals.push_back(checked_mul(2, checked_dim(json_int(amount))));
          } else if (amount.is_array() && amount.size() == 2 && amount[0].is_number_integer() &&
                     amount[1].is_number_integer()) {
            totals.push_back(checked_add(checked_dim(json_int(amount[0])), checked_dim(json_int(amount[1]))));
          } else {
            return std::nullopt;
          }
        }
      } else {
        return std::nullopt;
      }
      const Layout axes = layout(config, x.size());
      Dims out = x;
      for (std::size_t i = 0; i < spatial; ++i) {
        std::int64_t& size = out[axes.first_spatial + i];
        if (size < 0) continue;
        size = totals[i] < 0 ? -1 : sign > 0 ? checked_add(size, totals[i]) : size - totals[i];
        if (size < 0) size = -1;  // cropped to nothing: Keras would fail; leave the size unknown
      }
      return out;
    }
    if (name == "UpSampling" + suffix) {
      if (x.size() != spatial + 2) return std::nullopt;
      const auto size = tuple_of(config, "size", spatial, 2);
      if (!size) return std::nullopt;
      const Layout axes = layout(config, x.size());
      Dims out = x;
      for (std::size_t i = 0; i < spatial; ++i) {
        std::int64_t& dim = out[axes.first_spatial + i];
        dim = checked_mul(dim, checked_dim((*size)[i]));
      }
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string compute_dtype(const Json& config) {
  auto it = config.find("dtype");
  std::string name;
  if (it == config.end() || it->is_null()) return "float32";
  if (it->is_string()) {
    name = it->get<std::string>();
  } else if (it->is_object()) {
    auto inner = it->find("config");
    if (inner != it->end() && inner->is_object()) {
      auto policy = inner->find("name");
      if (policy != inner->end() && policy->is_string()) name = policy->get<std::string>();
    }
  }
  if (name.empty()) return "float32";
  // "mixed_float16" computes in float16; quantized policies ("int8_from_float32") in the float type.
  if (name.rfind("mixed_", 0) == 0) return name.substr(6);
  const auto from = name.find("_from_");
  if (from != std::string::npos) return name.substr(from + 6);
  return name;
}

std::optional<TensorType> infer_output_type(const std::string& class_name, const Json& config,
                                            const std::vector<TensorType>& inputs, std::uint32_t output_index) {
  if (inputs.empty() || !config.is_object()) return std::nullopt;
  if (output_index != 0) {  // the states of a recurrent layer called with return_state
    if ((class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") && inputs.front().has_shape &&
        !inputs.front().dims.empty()) {
      TensorType state;
      state.dtype = compute_dtype(config);
      state.has_shape = true;
      state.dims = {inputs.front().dims[0], dim_or_unknown(config, "units")};
      return state;
    }
    return std::nullopt;
  }
  TensorType type;
  type.dtype = compute_dtype(config);
  if (auto dims = infer_dims(class_name, config, inputs)) {
    type.has_shape = true;
    type.dims = *dims;
  }
  return type;
}

}  // namespace modelcut::keras
