// Loading an ONNX model (ModelProto) into an OnnxModel, and indexing its main
// graph as a format-neutral Dataflow.
//
// Names of layers are recovered from what the exporters leave behind (see
// exporter_scopes.h).
#include "onnx_model.h"

#include <algorithm>
#include <set>

#include "exporter_scopes.h"
#include "infer_types.h"
#include "modelcut/error.h"
#include "util/checked_math.h"

namespace modelcut::onnx {
namespace {

std::string as_string(const wire::Field& field) { return std::string(field.bytes); }

void expect_bytes(const wire::Field& field, const std::string& what) {
  if (field.type != wire::WireType::Bytes) {
    fail(what, ": not an ONNX model (field ", field.number, " has the wrong wire type)");
  }
}

std::pair<std::string, std::string> parse_entry(std::string_view payload, const std::string& what) {
  wire::Reader reader(payload, what);
  wire::Field field;
  std::pair<std::string, std::string> entry;
  while (reader.next(field)) {
    if (field.number == field::kEntryKey) entry.first = as_string(field);
    if (field.number == field::kEntryValue) entry.second = as_string(field);
  }
  return entry;
}

ValueInfoRef parse_value_info(std::string_view payload, const std::string& what) {
  ValueInfoRef info;
  info.payload = payload;
  wire::Reader reader(payload, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kValueInfoName) info.name = as_string(field);
    if (field.number == field::kValueInfoType) info.type = field.bytes;
  }
  return info;
}

std::uint64_t parse_number(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
    fail(what, ": ", quoted(text), " is not a valid byte offset or length");
  }
  return std::stoull(text);
}

// Subgraphs (If, Loop, Scan bodies) nested deeper than this are refused
// while parsing: the scan of nested graphs recurses once per level.
constexpr int kMaxSubgraphDepth = 64;

std::string describe_dims(const std::vector<std::int64_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size() && i < 8; ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + (dims.size() > 8 ? ",...]" : "]");
}

// Checks, for every tensor read, what the rest of modelcut relies on: dims
// are sizes (>= 0) whose product, with 0 counted as 1, fits in int64 (so no
// partial product of them overflows either), and inline raw_data holds
// exactly the bytes its dims and type call for.
void check_tensor(const TensorRef& tensor, bool has_raw_data, const std::string& what) {
  std::int64_t product = 1;
  for (std::int64_t size : tensor.dims) {
    auto next = size < 0 ? std::nullopt : checked_mul(product, std::max<std::int64_t>(size, 1));
    if (!next) {
      fail(what, ": tensor ", quoted(tensor.name), " has dims ", describe_dims(tensor.dims),
           size < 0 ? ", with a negative size" : ", too many elements to count in 64 bits");
    }
    product = *next;
  }
  if (!has_raw_data || tensor.external) return;
  if (auto expected = tensor.expected_bytes(); expected && *expected != tensor.raw_data.size()) {
    fail(what, ": tensor ", quoted(tensor.name), " holds ", tensor.raw_data.size(), " bytes of raw_data but its type (",
         dtype_name(tensor.data_type), ") and dims ", describe_dims(tensor.dims), " need ", *expected);
  }
}

TensorRef parse_tensor(std::string_view payload, const std::string& what) {
  TensorRef tensor;
  tensor.payload = payload;
  wire::Reader reader(payload, what);
  wire::Field field;
  std::vector<std::pair<std::string, std::string>> external_entries;
  bool has_raw_data = false;
  while (reader.next(field)) {
    switch (field.number) {
      case field::kTensorDims:
        wire::append_int64s(field, tensor.dims, what);
        break;
      case field::kTensorDataType:
        tensor.data_type = static_cast<int>(field.varint);
        break;
      case field::kTensorName:
        tensor.name = as_string(field);
        break;
      case field::kTensorRawData:
        expect_bytes(field, what);
        tensor.raw_data = field.bytes;
        has_raw_data = true;
        break;
      case field::kTensorExternalData:
        external_entries.push_back(parse_entry(field.bytes, what));
        break;
      case field::kTensorDataLocation:
        tensor.external = tensor.external || field.varint == 1;
        break;
      default:
        break;
    }
  }
  if (tensor.external) {
    const std::string tensor_what = what + ": initializer " + modelcut::quoted(tensor.name);
    for (const auto& [key, value] : external_entries) {
      if (key == "location") tensor.external_ref.location = value;
      if (key == "offset") tensor.external_ref.offset = parse_number(value, tensor_what);
      if (key == "length") tensor.external_ref.length = parse_number(value, tensor_what);
    }
  }
  check_tensor(tensor, has_raw_data, what);
  return tensor;
}

TensorRef parse_sparse_tensor(std::string_view payload, const std::string& what) {
  wire::Reader reader(payload, what);
  wire::Field field;
  TensorRef sparse;
  while (reader.next(field)) {
    if (field.number == field::kSparseTensorValues) {
      TensorRef values = parse_tensor(field.bytes, what);
      sparse.name = values.name;
      sparse.data_type = values.data_type;
      sparse.external = values.external;
    }
    if (field.number == 3) wire::append_int64s(field, sparse.dims, what);  // SparseTensorProto.dims
  }
  check_tensor(sparse, false, what);
  sparse.payload = payload;
  return sparse;
}

struct NodeFields {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<std::string_view> subgraphs;
  std::vector<std::pair<std::string, std::string>> metadata;
};

NodeFields parse_node_fields(std::string_view payload, const std::string& what) {
  NodeFields node;
  wire::Reader reader(payload, what);
  wire::Field field;
  while (reader.next(field)) {
    switch (field.number) {
      case field::kNodeInput:
        node.inputs.push_back(as_string(field));
        break;
      case field::kNodeOutput:
        node.outputs.push_back(as_string(field));
        break;
      case field::kNodeName:
        node.name = as_string(field);
        break;
      case field::kNodeOpType:
        node.op_type = as_string(field);
        break;
      case field::kNodeDomain:
        node.domain = as_string(field);
        break;
      case field::kNodeMetadataProps:
        node.metadata.push_back(parse_entry(field.bytes, what));
        break;
      case field::kNodeAttribute: {
        wire::Reader attribute(field.bytes, what);
        wire::Field attribute_field;
        while (attribute.next(attribute_field)) {
          if (attribute_field.number == field::kAttributeGraph || attribute_field.number == field::kAttributeGraphs) {
            node.subgraphs.push_back(attribute_field.bytes);
          }
        }
        break;
      }
      default:
        break;
    }
  }
  if (node.domain == "ai.onnx") node.domain.clear();
  return node;
}

// Names a (sub)graph reads without defining them, and operators it calls.
// `depth` counts the subgraphs around this one, 1 for a main graph node's.
void scan_subgraph(std::string_view graph, const std::string& what, std::vector<std::string>& free_names,
                   std::set<std::string>& seen, std::vector<OpRef>& called_ops, int depth) {
  if (depth > kMaxSubgraphDepth) fail(what, ": subgraphs nested more than ", kMaxSubgraphDepth, " deep");
  std::set<std::string> defined;
  std::vector<std::string> reads;
  wire::Reader reader(graph, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kGraphInput) defined.insert(parse_value_info(field.bytes, what).name);
    if (field.number == field::kGraphInitializer) defined.insert(parse_tensor(field.bytes, what).name);
    if (field.number == field::kGraphSparseInitializer) defined.insert(parse_sparse_tensor(field.bytes, what).name);
    if (field.number == field::kGraphOutput) reads.push_back(parse_value_info(field.bytes, what).name);
    if (field.number != field::kGraphNode) continue;
    NodeFields node = parse_node_fields(field.bytes, what);
    called_ops.emplace_back(node.domain, node.op_type);
    for (auto& input : node.inputs) reads.push_back(std::move(input));
    for (auto& output : node.outputs) defined.insert(std::move(output));
    std::set<std::string> nested_seen;
    for (std::string_view nested : node.subgraphs) {
      scan_subgraph(nested, what, reads, nested_seen, called_ops, depth + 1);
    }
  }
  for (auto& name : reads) {
    if (!name.empty() && defined.count(name) == 0 && seen.insert(name).second) free_names.push_back(name);
  }
}

NodeRef parse_node(std::string_view payload, const std::string& what) {
  NodeFields fields = parse_node_fields(payload, what);
  NodeRef node;
  node.payload = payload;
  node.name = std::move(fields.name);
  node.op_type = std::move(fields.op_type);
  node.domain = std::move(fields.domain);
  node.inputs = std::move(fields.inputs);
  node.outputs = std::move(fields.outputs);
  node.metadata = std::move(fields.metadata);
  node.called_ops.emplace_back(node.domain, node.op_type);
  std::set<std::string> seen;
  for (std::string_view subgraph : fields.subgraphs) {
    scan_subgraph(subgraph, what + " (subgraph of node " + modelcut::quoted(node.name) + ")", node.outer_reads, seen,
                  node.called_ops, 1);
  }
  return node;
}

FunctionRef parse_function(const wire::Field& function_field, const std::string& what) {
  FunctionRef function;
  function.field = function_field;
  wire::Reader reader(function_field.bytes, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kFunctionName) function.name = as_string(field);
    if (field.number == field::kFunctionDomain) function.domain = as_string(field);
    if (field.number == field::kFunctionNode) {
      NodeRef node = parse_node(field.bytes, what);
      function.called_ops.insert(function.called_ops.end(), node.called_ops.begin(), node.called_ops.end());
    }
  }
  return function;
}

}  // namespace

// Shapes of higher rank in a TypeProto are read as unknown.
constexpr std::size_t kMaxTypeRank = 1024;

TensorInfo tensor_info_from_type(std::string_view type_proto, const std::string& what) {
  TensorInfo info;
  wire::Reader reader(type_proto, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != 1) {  // not TypeProto.tensor_type: a sequence, map, optional, ...
      if (field.number == 4 || field.number == 5 || field.number == 9 || field.number == 8) {
        info.known = true;
        info.dtype = field.number == 4   ? "sequence"
                     : field.number == 5 ? "map"
                     : field.number == 9 ? "optional"
                                         : "sparse";
      }
      continue;
    }
    wire::Reader tensor(field.bytes, what);
    wire::Field tensor_field;
    while (tensor.next(tensor_field)) {
      if (tensor_field.number == 1) {
        info.known = true;
        info.dtype = dtype_name(static_cast<int>(tensor_field.varint));
        info.element_bits = element_bits_of(static_cast<int>(tensor_field.varint));
      }
      if (tensor_field.number != 2) continue;
      info.has_shape = true;
      wire::Reader shape(tensor_field.bytes, what);
      wire::Field dim_field;
      while (shape.next(dim_field)) {
        if (dim_field.number != 1) continue;
        // NB: a Dim takes 20 times the bytes of the smallest dim in a file;
        // ranks no real tensor has are taken as an unknown shape rather
        // than allocated.
        if (info.dims.size() >= kMaxTypeRank) {
          info.has_shape = false;
          info.dims.clear();
          break;
        }
        Dim dim;
        wire::Reader dimension(dim_field.bytes, what);
        wire::Field part;
        while (dimension.next(part)) {
          if (part.number == 1) dim.size = static_cast<std::int64_t>(part.varint);
          if (part.number == 2) dim.symbol = as_string(part);
        }
        info.dims.push_back(std::move(dim));
      }
    }
  }
  return info;
}

std::optional<std::uint64_t> TensorRef::expected_bytes() const {
  const int bits = element_bits_of(data_type);
  if (bits == 0) return std::nullopt;
  const auto count = element_count(dims);
  if (!count) return std::nullopt;
  return packed_bytes(*count, static_cast<std::uint64_t>(bits));
}

std::unique_ptr<OnnxModel> OnnxModel::open(const std::filesystem::path& path) {
  std::unique_ptr<OnnxModel> model(new OnnxModel());
  model->label = path.string();
  model->path = path;
  model->mapping_ = std::make_unique<MappedFile>(path);
  model->parse(model->mapping_->bytes());
  // Check every external reference now, so a bad one fails before anything
  // is written (mapping is cheap: no byte is read until copied).
  for (const auto* list : {&model->initializers, &model->sparse_initializers}) {
    for (const TensorRef& tensor : *list) {
      if (tensor.external) model->tensor_bytes(tensor);
    }
  }
  return model;
}

TensorBytes OnnxModel::tensor_bytes(const TensorRef& tensor) const {
  namespace fs = std::filesystem;
  if (!tensor.external) return TensorBytes{mapping_.get(), tensor.raw_data};
  const std::string what = label + ": initializer " + modelcut::quoted(tensor.name) + ": external data";
  const ExternalRef& ref = tensor.external_ref;
  if (path.empty()) fail(what, ": a model held in memory cannot refer to external files");
  if (ref.location.empty()) fail(what, " has no location");
  const fs::path location(ref.location);
  if (location.is_absolute() || ref.location[0] == '/' || ref.location[0] == '\\' ||
      (ref.location.size() > 1 && ref.location[1] == ':')) {
    fail(what, " location ", modelcut::quoted(ref.location),
         " is an absolute path; only paths inside the model's folder are read");
  }
  for (const auto& component : location) {
    if (component == "..") {
      fail(what, " location ", modelcut::quoted(ref.location),
           " contains '..'; only paths inside the model's folder are read");
    }
  }
  auto it = external_files_.find(ref.location);
  if (it == external_files_.end()) {
    std::error_code error;
    const fs::path folder = fs::canonical(fs::absolute(path).parent_path(), error);
    const fs::path resolved = fs::weakly_canonical(folder / location, error);
    const fs::path inside = resolved.lexically_relative(folder);
    if (error || inside.empty() || *inside.begin() == "..") {
      fail(what, " location ", modelcut::quoted(ref.location),
           " leads outside the model's folder (through a symbolic link); refusing to read it");
    }
    // Anything but a missing file (a FIFO, a device) MappedFile refuses by name.
    if (!fs::exists(resolved, error)) fail(what, " file ", modelcut::quoted(ref.location), " does not exist");
    it = external_files_.emplace(ref.location, std::make_unique<MappedFile>(resolved)).first;
  }
  const MappedFile& file = *it->second;
  const std::uint64_t size = file.bytes().size();
  if (ref.offset > size) {
    fail(what, " offset ", ref.offset, " is past the end of ", modelcut::quoted(ref.location), " (", size, " bytes)");
  }
  const std::uint64_t length = ref.length.value_or(size - ref.offset);
  if (length > size - ref.offset) {
    fail(what, " (offset ", ref.offset, ", length ", length, ") runs past the end of ", modelcut::quoted(ref.location),
         " (", size, " bytes)");
  }
  if (auto expected = tensor.expected_bytes(); expected && *expected != length) {
    fail(what, " holds ", length, " bytes but its type and shape need ", *expected);
  }
  return TensorBytes{&file, file.bytes().substr(ref.offset, length)};
}

std::unique_ptr<OnnxModel> OnnxModel::from_bytes(std::string bytes, const std::string& label) {
  std::unique_ptr<OnnxModel> model(new OnnxModel());
  model->label = label;
  model->owned_bytes_.push_back(std::move(bytes));
  model->parse(model->owned_bytes_.back());
  return model;
}

void OnnxModel::parse(std::string_view bytes) {
  if (bytes.empty()) fail(label, ": empty file, not an ONNX model");
  wire::Reader reader(bytes, label + ": not an ONNX model or damaged");
  wire::Field field;
  std::string_view graph;
  bool has_graph = false;
  while (reader.next(field)) {
    model_fields.push_back(field);
    switch (field.number) {
      case field::kModelIrVersion:
        if (field.type != wire::WireType::Varint) fail(label, ": not an ONNX model (ir_version is not a number)");
        ir_version = static_cast<std::int64_t>(field.varint);
        break;
      case field::kModelProducerName:
        expect_bytes(field, label);
        producer_name = as_string(field);
        break;
      case field::kModelGraph:
        expect_bytes(field, label);
        graph = field.bytes;
        has_graph = true;
        break;
      case field::kModelOpsetImport: {
        expect_bytes(field, label);
        Opset opset;
        wire::Reader opset_reader(field.bytes, label + ": opset_import");
        wire::Field opset_field;
        while (opset_reader.next(opset_field)) {
          if (opset_field.number == field::kOpsetDomain) opset.domain = as_string(opset_field);
          if (opset_field.number == field::kOpsetVersion) opset.version = static_cast<std::int64_t>(opset_field.varint);
        }
        opsets.push_back(opset);
        break;
      }
      case field::kModelFunctions:
        expect_bytes(field, label);
        functions.push_back(parse_function(field, label + ": function"));
        break;
      default:
        break;
    }
  }
  if (!has_graph || ir_version == 0)
    fail(label, ": not an ONNX model (it has no ", has_graph ? "ir_version" : "graph", ")");

  const std::string what = label + ": graph";
  wire::Reader graph_reader(graph, what);
  while (graph_reader.next(field)) {
    switch (field.number) {
      case field::kGraphNode:
        expect_bytes(field, what);
        nodes.push_back(parse_node(field.bytes, what + ": node " + std::to_string(nodes.size())));
        break;
      case field::kGraphName:
        graph_name = as_string(field);
        break;
      case field::kGraphInitializer:
        expect_bytes(field, what);
        initializers.push_back(parse_tensor(field.bytes, what));
        break;
      case field::kGraphSparseInitializer:
        expect_bytes(field, what);
        sparse_initializers.push_back(parse_sparse_tensor(field.bytes, what));
        break;
      case field::kGraphInput:
        expect_bytes(field, what);
        inputs.push_back(parse_value_info(field.bytes, what));
        break;
      case field::kGraphOutput:
        expect_bytes(field, what);
        outputs.push_back(parse_value_info(field.bytes, what));
        break;
      case field::kGraphValueInfo:
        expect_bytes(field, what);
        value_info.push_back(parse_value_info(field.bytes, what));
        break;
      case field::kGraphQuantizationAnnotation: {
        wire::Reader annotation(field.bytes, what);
        wire::Field annotation_field;
        std::string tensor_name;
        while (annotation.next(annotation_field)) {
          if (annotation_field.number == field::kAnnotationTensorName) tensor_name = as_string(annotation_field);
        }
        quantization_annotations.emplace_back(tensor_name, field);
        break;
      }
      case field::kGraphDocString:
      case field::kGraphMetadataProps:
        graph_annotations.push_back(field);
        break;
      default:
        break;
    }
  }
  for (const auto* list : {&value_info, &inputs, &outputs}) {
    for (const ValueInfoRef& info : *list) {
      if (!info.type.empty()) types[info.name] = info.type;
    }
  }
}

void OnnxModel::add_type_hints(std::string model_bytes) {
  owned_bytes_.push_back(std::move(model_bytes));
  auto hints = OnnxModel::from_bytes(owned_bytes_.back(), label + " (inferred types)");
  for (const auto* list : {&hints->value_info, &hints->outputs}) {
    for (const ValueInfoRef& info : *list) {
      if (info.type.empty()) continue;
      auto it = types.find(info.name);
      if (it == types.end() || !tensor_info_from_type(it->second, label).has_shape) {
        // The hint model's bytes live in owned_bytes_ (a deque: no reallocation moves them).
        const std::string_view own = owned_bytes_.back();
        const auto offset = static_cast<std::size_t>(info.type.data() - hints->owned_bytes_.back().data());
        types[info.name] = own.substr(offset, info.type.size());
      }
    }
  }
}

// Nodes that compute from stored weights alone give the same value in any
// part: TorchScript's Identity copies of initializers it deduplicated, the
// DequantizeLinear of a quantized weight, a Transpose or Reshape of one.
// Like Constant nodes they are marked constant, so that each part that reads
// them gets its own copy instead of a weight crossing a cut. Only standard
// deterministic ops without subgraphs qualify (a random op or a custom op
// may give another value each time it runs; a control-flow op is left to
// the part that runs it).
void mark_weight_only_nodes(const OnnxModel& model, Dataflow& dataflow) {
  static const std::set<std::string> kExcluded = {"RandomNormal",  "RandomNormalLike",
                                                  "RandomUniform", "RandomUniformLike",
                                                  "Multinomial",   "Bernoulli",
                                                  "Dropout",       "If",
                                                  "Loop",          "Scan",
                                                  "SequenceMap"};
  for (NodeId id : dataflow.topological_order()) {
    const NodeRef& source = model.nodes[id];
    Node& node = dataflow.mutable_node(id);
    if (node.is_constant || node.inputs.empty() || !source.outer_reads.empty()) continue;
    if (!(source.domain.empty() || source.domain == "ai.onnx") || kExcluded.count(source.op_type) != 0) continue;
    bool from_weights = true;
    for (ValueId input : node.inputs) {
      const Value& value = dataflow.value(input);
      from_weights = from_weights && (value.kind == ValueKind::Constant ||
                                      (value.kind == ValueKind::Computed && dataflow.node(value.producer).is_constant));
    }
    node.is_constant = from_weights;
  }
}

Dataflow index_onnx(const OnnxModel& model) {
  Dataflow dataflow;
  dataflow.scope_separator = model.producer_name == "pytorch" ? '.' : '/';
  std::set<std::string> input_names;
  for (const ValueInfoRef& input : model.inputs) {
    input_names.insert(input.name);
    dataflow.mark_graph_input(dataflow.add_value(input.name, ValueKind::GraphInput));
  }
  for (const auto* list : {&model.initializers, &model.sparse_initializers}) {
    for (const TensorRef& tensor : *list) {
      // An initializer named like a graph input is that input's default value.
      if (input_names.count(tensor.name) == 0) dataflow.add_value(tensor.name, ValueKind::Constant);
    }
  }
  for (const NodeRef& source : model.nodes) {
    Node node;
    node.name = source.name;
    node.op = source.op_type;
    for (const auto* names : {&source.inputs, &source.outer_reads}) {
      for (const std::string& name : *names) {
        if (name.empty()) continue;
        const ValueId id = dataflow.value_named(name);
        if (std::find(node.inputs.begin(), node.inputs.end(), id) == node.inputs.end()) node.inputs.push_back(id);
      }
    }
    for (const std::string& name : source.outputs) {
      if (!name.empty()) node.outputs.push_back(dataflow.value_named(name));
    }
    node.scope = scope_of(source, model.producer_name == "pytorch");
    node.is_constant = source.op_type == "Constant" && source.domain.empty() && node.inputs.empty();
    dataflow.add_node(std::move(node));
  }
  for (const ValueInfoRef& output : model.outputs) dataflow.mark_graph_output(dataflow.value_named(output.name));
  dataflow.build_index();
  mark_weight_only_nodes(model, dataflow);
  clear_borrowed_scopes(model, dataflow);
  add_weight_scopes(model, dataflow);

  for (const auto& [name, type] : model.types) {
    if (auto id = dataflow.find_value(name))
      dataflow.mutable_value(*id).info = tensor_info_from_type(type, model.label);
  }
  for (const TensorRef& tensor : model.initializers) {
    auto id = dataflow.find_value(tensor.name);
    if (!id || dataflow.value(*id).info.known) continue;
    TensorInfo& info = dataflow.mutable_value(*id).info;
    info.known = true;
    info.dtype = dtype_name(tensor.data_type);
    info.element_bits = element_bits_of(tensor.data_type);
    info.has_shape = true;
    for (std::int64_t size : tensor.dims) info.dims.push_back(Dim{size, {}});
  }
  infer_missing_types(model, dataflow);
  return dataflow;
}

std::string structure_only(const OnnxModel& model) {
  // Tensors above this size are replaced by their name, type and shape:
  // shape inference only reads the values of small ones (shapes, axes).
  constexpr std::size_t kKeepBytes = 4096;
  wire::Rope graph;
  for (const NodeRef& node : model.nodes) graph.add_view_field(field::kGraphNode, node.payload);
  graph.add_bytes_field(field::kGraphName, model.graph_name);
  for (const TensorRef& tensor : model.initializers) {
    if (tensor.payload.size() <= kKeepBytes || tensor.external) {
      graph.add_view_field(field::kGraphInitializer, tensor.payload);
      continue;
    }
    wire::Rope stub;
    for (std::int64_t size : tensor.dims) stub.add_varint_field(field::kTensorDims, static_cast<std::uint64_t>(size));
    stub.add_varint_field(field::kTensorDataType, static_cast<std::uint64_t>(tensor.data_type));
    stub.add_bytes_field(field::kTensorName, tensor.name);
    wire::Rope location;
    location.add_bytes_field(field::kEntryKey, "location");
    location.add_bytes_field(field::kEntryValue, "modelcut-structure-only");
    stub.add_message_field(field::kTensorExternalData, std::move(location));
    stub.add_varint_field(field::kTensorDataLocation, 1);
    graph.add_message_field(field::kGraphInitializer, std::move(stub));
  }
  for (const TensorRef& tensor : model.sparse_initializers)
    graph.add_view_field(field::kGraphSparseInitializer, tensor.payload);
  for (const ValueInfoRef& info : model.inputs) graph.add_view_field(field::kGraphInput, info.payload);
  for (const ValueInfoRef& info : model.outputs) graph.add_view_field(field::kGraphOutput, info.payload);
  for (const ValueInfoRef& info : model.value_info) graph.add_view_field(field::kGraphValueInfo, info.payload);
  wire::Rope out;
  for (const wire::Field& model_field : model.model_fields) {
    if (model_field.number == field::kModelGraph) {
      out.add_message_field(field::kModelGraph, std::move(graph));
    } else if (model_field.number != field::kModelTrainingInfo) {
      out.append_view(model_field.raw);
    }
  }
  return out.to_string();
}

}  // namespace modelcut::onnx
