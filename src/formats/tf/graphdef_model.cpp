// Loading a frozen TensorFlow GraphDef into a GraphDefModel: nodes and their
// inputs are parsed and checked (every input names a node of the graph, every
// name is unique), and TF1 while-loop frames are found. Graph structure only:
// Const tensors and the function library stay views of the file.
#include "graphdef_model.h"

#include <algorithm>
#include <deque>
#include <set>

#include "modelcut/error.h"

namespace modelcut::tf {
namespace {

void expect_bytes(const wire::Field& field, const std::string& what) {
  if (field.type != wire::WireType::Bytes) {
    fail(what, ": not a TensorFlow GraphDef (field ", field.number, " has the wrong wire type)");
  }
}

// Node names as TensorFlow writes them never hold ':' or '^': modelcut
// relies on both to split input strings, and names values after nodes.
void check_node_name(const std::string& name, const std::string& what) {
  if (name.empty()) fail(what, ": a node has no name");
  if (name.find_first_of(":^") != std::string::npos || name.find('\0') != std::string::npos) {
    fail(what, ": node name ", modelcut::quoted(name), " holds ':', '^' or a NUL byte, which TensorFlow never writes");
  }
}

InputRef parse_input(const wire::Field& field, const std::string& what) {
  InputRef input;
  input.raw = field.raw;
  std::string_view text = field.bytes;
  if (!text.empty() && text.front() == '^') {
    input.control = true;
    text.remove_prefix(1);
  }
  const std::size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && !input.control) {
    const std::string_view digits = text.substr(colon + 1);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      fail(what, ": input ", modelcut::quoted(std::string(field.bytes)), " is not \"name\", \"name:k\" or \"^name\"");
    }
    input.slot = static_cast<std::uint32_t>(std::stoul(std::string(digits)));
    text = text.substr(0, colon);
  }
  input.node = std::string(text);
  if (input.node.empty() || input.node.find_first_of(":^") != std::string::npos) {
    fail(what, ": input ", modelcut::quoted(std::string(field.bytes)), " is not \"name\", \"name:k\" or \"^name\"");
  }
  return input;
}

// Whether an AttrValue names a function, directly (func) or in a list.
bool names_function(std::string_view attr_value, const std::string& what) {
  wire::Reader reader(attr_value, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kAttrFunc) return true;
    if (field.number == field::kAttrList && field.type == wire::WireType::Bytes) {
      wire::Reader list(field.bytes, what);
      wire::Field item;
      while (list.next(item)) {
        if (item.number == field::kListFunc) return true;
      }
    }
  }
  return false;
}

NodeDefRef parse_node(std::string_view payload, const std::string& what) {
  NodeDefRef node;
  node.payload = payload;
  wire::Reader reader(payload, what);
  wire::Field field;
  while (reader.next(field)) {
    switch (field.number) {
      case field::kNodeName:
        expect_bytes(field, what);
        node.name = std::string(field.bytes);
        break;
      case field::kNodeOp:
        expect_bytes(field, what);
        node.op = std::string(field.bytes);
        break;
      case field::kNodeInput:
        expect_bytes(field, what);
        node.inputs.push_back(parse_input(field, what));
        break;
      case field::kNodeAttr: {
        expect_bytes(field, what);
        wire::Reader entry(field.bytes, what);
        wire::Field entry_field;
        std::string key;
        std::string_view value;
        while (entry.next(entry_field)) {
          if (entry_field.number == field::kEntryKey)
            expect_bytes(entry_field, what), key = std::string(entry_field.bytes);
          if (entry_field.number == field::kEntryValue) expect_bytes(entry_field, what), value = entry_field.bytes;
        }
        node.calls_functions = node.calls_functions || names_function(value, what + ": attr " + modelcut::quoted(key));
        node.attrs[key] = value;  // a repeated key: the last one counts, as in protobuf maps
        break;
      }
      default:
        break;
    }
  }
  check_node_name(node.name, what);
  if (node.op.empty()) fail(what, ": node ", modelcut::quoted(node.name), " has no op");
  return node;
}

std::vector<std::string> function_names(std::string_view library, const std::string& what) {
  std::vector<std::string> names;
  wire::Reader reader(library, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != field::kLibraryFunction) continue;
    expect_bytes(field, what);
    wire::Reader function(field.bytes, what);
    wire::Field function_field;
    while (function.next(function_field)) {
      if (function_field.number != field::kFunctionSignature) continue;
      expect_bytes(function_field, what);
      wire::Reader signature(function_field.bytes, what);
      wire::Field signature_field;
      while (signature.next(signature_field)) {
        if (signature_field.number == field::kOpDefName) names.emplace_back(signature_field.bytes);
      }
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string string_attr(const NodeDefRef& node, const std::string& key, const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return {};
  wire::Reader reader(it->second, what);
  wire::Field field;
  std::string text;
  while (reader.next(field)) {
    if (field.number == 2 && field.type == wire::WireType::Bytes) text = std::string(field.bytes);  // AttrValue.s
  }
  return text;
}

bool is_enter(const std::string& op) { return op == "Enter" || op == "RefEnter"; }
bool is_exit(const std::string& op) { return op == "Exit" || op == "RefExit"; }
bool is_next_iteration(const std::string& op) { return op == "NextIteration" || op == "RefNextIteration"; }
bool is_merge(const std::string& op) { return op == "Merge" || op == "RefMerge"; }

}  // namespace

bool is_loop_op(const std::string& op) {
  return is_enter(op) || is_exit(op) || is_next_iteration(op) || is_merge(op) || op == "Switch" || op == "RefSwitch" ||
         op == "LoopCond";
}

std::string value_name(const std::string& node, std::uint32_t slot) {
  return slot == 0 ? node : node + ":" + std::to_string(slot);
}

std::unique_ptr<GraphDefModel> GraphDefModel::open(const std::filesystem::path& path) {
  std::unique_ptr<GraphDefModel> model(new GraphDefModel());
  model->label = path.string();
  model->path = path;
  model->mapping_ = std::make_unique<MappedFile>(path);
  model->parse(model->mapping_->bytes());
  return model;
}

std::unique_ptr<GraphDefModel> GraphDefModel::from_bytes(std::string bytes, const std::string& label) {
  std::unique_ptr<GraphDefModel> model(new GraphDefModel());
  model->label = label;
  model->owned_bytes_ = std::move(bytes);
  model->parse(model->owned_bytes_);
  return model;
}

std::optional<std::uint32_t> GraphDefModel::find_node(const std::string& name) const {
  auto it = node_by_name_.find(name);
  if (it == node_by_name_.end()) return std::nullopt;
  return it->second;
}

void GraphDefModel::parse(std::string_view bytes) {
  if (bytes.empty()) fail(label, ": empty file, not a TensorFlow GraphDef");
  wire::Reader reader(bytes, label + ": not a TensorFlow GraphDef or damaged");
  wire::Field field;
  while (reader.next(field)) {
    switch (field.number) {
      case field::kGraphNode: {
        expect_bytes(field, label);
        const std::string what = label + ": node " + std::to_string(nodes.size());
        nodes.push_back(parse_node(field.bytes, what));
        if (!node_by_name_.emplace(nodes.back().name, static_cast<std::uint32_t>(nodes.size() - 1)).second) {
          fail(label, ": two nodes are named ", modelcut::quoted(nodes.back().name));
        }
        break;
      }
      case field::kGraphLibrary:
        expect_bytes(field, label);
        if (library) fail(label, ": not a TensorFlow GraphDef (two function libraries)");
        library = field;
        library_functions = function_names(field.bytes, label + ": function library");
        break;
      case field::kGraphVersion:
        if (field.type != wire::WireType::Varint) fail(label, ": not a TensorFlow GraphDef (version is not a number)");
        graph_fields.push_back(field);
        break;
      case field::kGraphVersions: {
        expect_bytes(field, label);
        graph_fields.push_back(field);
        wire::Reader versions(field.bytes, label + ": not a TensorFlow GraphDef (damaged versions)");
        wire::Field version;
        while (versions.next(version)) {
          if (version.number == field::kVersionsProducer && version.type == wire::WireType::Varint) {
            producer_version = static_cast<std::int64_t>(version.varint & 0x7fffffff);  // an int32 in the proto
          }
        }
        break;
      }
      default:
        graph_fields.push_back(field);
        break;
    }
  }
  if (nodes.empty()) fail(label, ": not a TensorFlow GraphDef (it has no nodes)");
  // A graph that still reads variables keeps its weights elsewhere (a
  // checkpoint) and passes resource handles between nodes, which no part
  // could be fed: only frozen graphs are cut.
  for (const NodeDefRef& node : nodes) {
    if (node.op == "VarHandleOp" || node.op == "VariableV2" || node.op == "Variable" || node.op == "_VarHandlesOp") {
      fail(label, ": the graph is not frozen: node ", modelcut::quoted(node.name), " is a variable (", node.op,
           "); freeze it first (convert_variables_to_constants_v2) so that its weights are Const nodes");
    }
  }
  check_inputs();
  find_frames();
}

void GraphDefModel::check_inputs() const {
  for (const NodeDefRef& node : nodes) {
    for (const InputRef& input : node.inputs) {
      auto producer = find_node(input.node);
      if (!producer) {
        fail(label, ": node ", modelcut::quoted(node.name), " reads ",
             modelcut::quoted(std::string(input.control ? "^" : "") + input.node), ", which is no node of the graph");
      }
      const std::string& op = nodes[*producer].op;
      if (input.slot > 0 && (op == "Const" || op == "Placeholder")) {
        fail(label, ": node ", modelcut::quoted(node.name), " reads output ", input.slot, " of ", op, " ",
             modelcut::quoted(input.node), ", which has only one output");
      }
    }
  }
}

// Frames are found in a topological order of data and control edges, the
// loops' back edges (NextIteration -> Merge) left out. An Enter opens its
// frame inside the frame of its input; a node runs in the innermost frame of
// its inputs, where an Exit's output counts as outside the Exit's frame.
void GraphDefModel::find_frames() {
  const std::size_t count = nodes.size();
  std::vector<std::vector<std::uint32_t>> readers(count);
  std::vector<std::uint32_t> pending_inputs(count, 0);
  auto is_back_edge = [&](const NodeDefRef& node, std::uint32_t producer) {
    return is_merge(node.op) && is_next_iteration(nodes[producer].op);
  };
  for (std::uint32_t id = 0; id < count; ++id) {
    for (const InputRef& input : nodes[id].inputs) {
      const std::uint32_t producer = node_by_name_.at(input.node);
      if (is_back_edge(nodes[id], producer)) continue;
      readers[producer].push_back(id);
      ++pending_inputs[id];
    }
  }
  std::deque<std::uint32_t> ready;
  for (std::uint32_t id = 0; id < count; ++id) {
    if (pending_inputs[id] == 0) ready.push_back(id);
  }
  std::vector<std::uint32_t> depth_of_frame;
  std::map<std::pair<std::uint32_t, std::string>, std::uint32_t> frame_by_key;  // (parent, name)
  auto depth = [&](std::uint32_t frame) { return frame == kNoFrame ? 0u : depth_of_frame[frame]; };
  frame_of.assign(count, kNoFrame);
  std::size_t ordered = 0;
  while (!ready.empty()) {
    const std::uint32_t id = ready.front();
    ready.pop_front();
    ++ordered;
    const NodeDefRef& node = nodes[id];
    std::uint32_t frame = kNoFrame;
    for (const InputRef& input : node.inputs) {
      const std::uint32_t producer = node_by_name_.at(input.node);
      if (is_back_edge(node, producer)) continue;
      std::uint32_t candidate = frame_of[producer];
      if (is_exit(nodes[producer].op) && candidate != kNoFrame) {
        candidate = frames[candidate].parent.value_or(kNoFrame);
      }
      if (depth(candidate) > depth(frame)) frame = candidate;
    }
    if (is_enter(node.op)) {
      const std::string name = string_attr(node, "frame_name", label + ": node " + modelcut::quoted(node.name));
      if (name.empty()) fail(label, ": Enter node ", modelcut::quoted(node.name), " has no frame_name");
      auto [it, inserted] =
          frame_by_key.emplace(std::make_pair(frame, name), static_cast<std::uint32_t>(frames.size()));
      if (inserted) {
        frames.push_back(Frame{name, frame == kNoFrame ? std::nullopt : std::optional<std::uint32_t>(frame)});
        depth_of_frame.push_back(depth(frame) + 1);
      }
      frame = it->second;
    }
    frame_of[id] = frame;
    for (std::uint32_t reader : readers[id]) {
      if (--pending_inputs[reader] == 0) ready.push_back(reader);
    }
  }
  if (ordered != count) {
    for (std::uint32_t id = 0; id < count; ++id) {
      if (pending_inputs[id] != 0) {
        fail(label, ": the graph has a cycle through node ", modelcut::quoted(nodes[id].name),
             " that is not a while loop's NextIteration -> Merge edge");
      }
    }
  }
}

ConstTensor GraphDefModel::const_tensor(std::uint32_t index) const {
  const NodeDefRef& node = nodes[index];
  const std::string what = label + ": Const " + modelcut::quoted(node.name);
  auto value = node.attrs.find("value");
  if (value == node.attrs.end()) fail(what, " has no value");
  ConstTensor tensor;
  std::string_view proto;
  wire::Reader reader(value->second, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kAttrTensor) expect_bytes(field, what), proto = field.bytes;
  }
  // The TensorProto's fields are walked, not decoded: tensor_content is one
  // length-delimited field whose bytes are only viewed.
  wire::Reader tensor_reader(proto, what);
  while (tensor_reader.next(field)) {
    if (field.number == field::kTensorDtype && field.type == wire::WireType::Varint) {
      tensor.dtype = static_cast<int>(field.varint & 0x7fffffff);
    }
    if (field.number == field::kTensorContent) expect_bytes(field, what), tensor.content = field.bytes;
    if (field.number == field::kTensorShape) {
      expect_bytes(field, what);
      wire::Reader shape(field.bytes, what);
      wire::Field dim;
      while (shape.next(dim)) {
        if (dim.number != field::kShapeDim) continue;
        expect_bytes(dim, what);
        wire::Reader dim_reader(dim.bytes, what);
        wire::Field size;
        std::int64_t value_size = 0;
        while (dim_reader.next(size)) {
          if (size.number == field::kDimSize) value_size = static_cast<std::int64_t>(size.varint);
        }
        if (value_size < 0) fail(what, " has a negative dimension");
        tensor.dims.push_back(value_size);
      }
    }
  }
  return tensor;
}

}  // namespace modelcut::tf
