// Propagating tensor types through a flattened Keras model (see
// keras_types.h): what the config records first, then the build shape of
// the one layer reading a tensor, then per-layer inference forwards in
// topological order (keras_shapes.cpp).
#include "keras_types.h"

#include "formats/dtypes.h"
#include "keras_config.h"

namespace modelcut::keras {
namespace {

// The shape of `value` as the build_config of a layer reading it records
// it (the shape the layer was built for), if that layer has one call.
std::optional<std::vector<std::int64_t>> build_shape(const KerasModel& model, NodeId reader_id, ValueId value) {
  const CallInfo& reader = model.calls[reader_id];
  const LayerInfo& layer = model.layers[reader.layer];
  if (layer.calls.size() != 1 || !layer.entry->contains("build_config")) return std::nullopt;
  const Json& build = (*layer.entry)["build_config"];
  if (!build.is_object() || !build.contains("input_shape")) return std::nullopt;
  const Json& shape = build["input_shape"];
  std::vector<std::int64_t> dims;
  if (reader.refs.size() == 1 && parse_shape(shape, dims)) return dims;
  if (shape.is_array() && shape.size() == reader.refs.size()) {
    for (std::size_t i = 0; i < reader.refs.size(); ++i) {
      if (reader.refs[i] == value && parse_shape(shape[i], dims)) return dims;
    }
  }
  return std::nullopt;
}

}  // namespace

void propagate_types(KerasModel& model, const std::map<ValueId, TensorType>& recorded) {
  const Dataflow& dataflow = model.dataflow;
  model.types.assign(dataflow.values().size(), TensorType{});
  std::vector<bool> known(dataflow.values().size(), false);
  for (const auto& [id, type] : recorded) {
    model.types[id] = type;
    known[id] = type.has_shape && !type.dtype.empty();
  }
  for (ValueId id = 0; id < dataflow.values().size(); ++id) {
    if (known[id] || model.types[id].has_shape) continue;
    for (NodeId reader_id : dataflow.value(id).consumers) {
      if (auto dims = build_shape(model, reader_id, id)) {
        model.types[id].has_shape = true;
        model.types[id].dims = *dims;
        break;
      }
    }
  }
  for (NodeId id : dataflow.topological_order()) {
    const CallInfo& call = model.calls[id];
    const LayerInfo& layer = model.layers[call.layer];
    const Json& config = (*layer.entry)["config"];
    std::vector<TensorType> inputs;
    for (std::size_t index : call.flat_order) inputs.push_back(model.types[call.refs[index]]);
    const Node& node = dataflow.node(id);
    for (std::uint32_t slot = 0; slot < node.outputs.size(); ++slot) {
      const ValueId output = node.outputs[slot];
      if (known[output]) continue;
      TensorType& type = model.types[output];
      if (auto inferred = infer_output_type(layer.class_name, config, inputs, slot)) {
        if (!type.has_shape && inferred->has_shape) {
          type.has_shape = true;
          type.dims = inferred->dims;
        }
        if (type.dtype.empty()) type.dtype = inferred->dtype;
      }
      if (type.dtype.empty() && config.is_object()) type.dtype = compute_dtype(config);
    }
  }
  Dataflow& mutable_flow = model.dataflow;
  for (ValueId id = 0; id < mutable_flow.values().size(); ++id) {
    const TensorType& type = model.types[id];
    TensorInfo& info = mutable_flow.mutable_value(id).info;
    info.known = !type.dtype.empty();
    info.dtype = type.dtype;
    info.element_bits = keras_dtype_bits(type.dtype);
    info.has_shape = type.has_shape;
    info.dims.clear();
    for (std::size_t axis = 0; axis < type.dims.size(); ++axis) {
      Dim dim;
      dim.size = type.dims[axis];
      if (dim.size < 0 && axis == 0) dim.symbol = "batch";
      info.dims.push_back(dim);
    }
  }
}

}  // namespace modelcut::keras
