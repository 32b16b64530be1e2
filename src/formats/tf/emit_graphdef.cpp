// Emitting GraphDef parts (see emit_graphdef.h).
#include "emit_graphdef.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "modelcut/error.h"

namespace modelcut::tf {
namespace {

constexpr std::uint32_t kNoPart = UINT32_MAX;

// Part of every source node that computes (not a Const, a Placeholder or a
// weight-only node, which are copied where they are read).
std::vector<std::uint32_t> part_of_nodes(const GraphDefModel& model, const GraphDefIndex& index,
                                         const Partition& partition) {
  std::vector<std::uint32_t> part_of(model.nodes.size(), kNoPart);
  for (std::uint32_t part = 0; part < partition.parts.size(); ++part) {
    for (NodeId id : partition.parts[part].nodes) {
      if (!index.dataflow.node(id).is_constant) part_of[index.source_node[id]] = part;
    }
  }
  return part_of;
}

// The tensor of `value`: its producing node and output.
std::pair<std::uint32_t, std::uint32_t> tensor_of(const GraphDefModel& model, const Dataflow& dataflow, ValueId value) {
  const Value& info = dataflow.value(value);
  if (auto node = model.find_node(info.name)) return {*node, 0};
  const std::size_t colon = info.name.rfind(':');
  return {*model.find_node(info.name.substr(0, colon)),
          static_cast<std::uint32_t>(std::stoul(info.name.substr(colon + 1)))};
}

wire::Rope type_attr(int dtype) {
  wire::Rope value;
  value.add_varint_field(field::kAttrType, static_cast<std::uint64_t>(dtype));
  return value;
}

void add_attr(wire::Rope& node, const std::string& key, wire::Rope&& value) {
  wire::Rope entry;
  entry.add_bytes_field(field::kEntryKey, key);
  entry.add_message_field(field::kEntryValue, std::move(value));
  node.add_message_field(field::kNodeAttr, std::move(entry));
}

}  // namespace

std::string boundary_node_name(const GraphDefModel& model, const Dataflow& dataflow, ValueId value) {
  const auto [node, slot] = tensor_of(model, dataflow, value);
  if (slot == 0) return model.nodes[node].name;
  std::string name = model.nodes[node].name + "/output_" + std::to_string(slot);
  while (model.find_node(name)) name += '_';
  return name;
}

void check_loop_frames(const GraphDefModel& model, const GraphDefIndex& index, const Partition& partition) {
  const std::vector<std::uint32_t> part_of = part_of_nodes(model, index, partition);
  std::vector<std::uint32_t> first_node(model.frames.size(), kNoPart);  // a node of each frame, to name
  for (std::uint32_t id = 0; id < model.nodes.size(); ++id) {
    if (part_of[id] == kNoPart) continue;
    for (std::uint32_t frame = model.frame_of[id]; frame != kNoFrame;
         frame = model.frames[frame].parent.value_or(kNoFrame)) {
      if (first_node[frame] == kNoPart) {
        first_node[frame] = id;
      } else if (part_of[first_node[frame]] != part_of[id]) {
        const NodeDefRef& a = model.nodes[first_node[frame]];
        const NodeDefRef& b = model.nodes[id];
        fail(model.label, ": a cut falls inside the while loop ", modelcut::quoted(model.frames[frame].name),
             ": its nodes ", modelcut::quoted(a.name), " and ", modelcut::quoted(b.name), " would go to parts ",
             part_of[first_node[frame]] + 1, " and ", part_of[id] + 1,
             "; cut before the loop's Enter nodes or after its Exit nodes");
      }
    }
  }
  // Checked after the frames, whose message is the clearer one. A back
  // edge is no dataflow edge (see index_graphdef): in a damaged loop,
  // one whose NextIteration lies in no frame, the cut may still separate
  // its ends.
  for (std::uint32_t id = 0; id < model.nodes.size(); ++id) {
    const NodeDefRef& node = model.nodes[id];
    if (node.op != "Merge" && node.op != "RefMerge") continue;
    for (const InputRef& input : node.inputs) {
      const std::uint32_t producer = *model.find_node(input.node);
      const std::string& op = model.nodes[producer].op;
      if ((op == "NextIteration" || op == "RefNextIteration") && part_of[producer] != part_of[id]) {
        fail(model.label, ": a cut separates the while loop node ", modelcut::quoted(node.name),
             " from the NextIteration node ", modelcut::quoted(input.node),
             " that feeds it back; cut before the loop's Enter nodes or after its Exit nodes");
      }
    }
  }
}

wire::Rope emit_graphdef_part(const GraphDefModel& model, const GraphDefIndex& index, const Partition& partition,
                              std::size_t part_index) {
  const Dataflow& dataflow = index.dataflow;
  const Part& part = partition.parts[part_index];
  const auto this_part = static_cast<std::uint32_t>(part_index);
  const std::vector<std::uint32_t> part_of = part_of_nodes(model, index, partition);

  // Source nodes copied into the part: its computing nodes, then (closed
  // under their inputs) the Consts, weight-only nodes and graph inputs they read.
  std::vector<bool> included(model.nodes.size(), false);
  std::vector<std::uint32_t> pending;
  for (NodeId id : part.nodes) pending.push_back(index.source_node[id]);
  for (ValueId id : part.inputs) {
    if (dataflow.value(id).kind == ValueKind::GraphInput) pending.push_back(*model.find_node(dataflow.value(id).name));
  }
  std::vector<std::uint32_t> copied_only(model.nodes.size(), 0);  // copied wherever read
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    if (dataflow.node(id).is_constant) copied_only[index.source_node[id]] = 1;
  }
  for (std::uint32_t id = 0; id < model.nodes.size(); ++id) {
    if (model.nodes[id].op == "Const") copied_only[id] = 1;
  }
  while (!pending.empty()) {
    const std::uint32_t id = pending.back();
    pending.pop_back();
    if (included[id]) continue;
    included[id] = true;
    for (const InputRef& input : model.nodes[id].inputs) {
      const std::uint32_t producer = *model.find_node(input.node);
      if (copied_only[producer] && !input.control && !included[producer]) pending.push_back(producer);
    }
  }

  // How each input of each included node is written: unchanged, dropped
  // (a control input satisfied by an earlier part) or renamed (a value that
  // crosses the cut as output k > 0 of its node).
  std::map<std::string, std::string> renamed;  // value name -> placeholder
  std::set<std::string> crossing_in;
  for (ValueId id : part.inputs) {
    const Value& value = dataflow.value(id);
    crossing_in.insert(value.name);
    if (value.kind != ValueKind::GraphInput) {
      const std::string placeholder = boundary_node_name(model, dataflow, id);
      if (placeholder != value.name) renamed.emplace(value.name, placeholder);
    }
  }
  wire::Rope graph;
  // Placeholders for the computed values crossing into the part.
  for (ValueId id : part.inputs) {
    const Value& value = dataflow.value(id);
    if (value.kind == ValueKind::GraphInput) continue;
    const auto [producer, slot] = tensor_of(model, dataflow, id);
    const OutputType type = output_type(model, producer, slot);
    if (type.dtype == 0) {
      fail(model.label, ": no element type is known for ", modelcut::quoted(value.name), " (output ", slot, " of ",
           model.nodes[producer].op, " node ", modelcut::quoted(model.nodes[producer].name),
           "), which crosses the cut; its node's attrs do not tell it");
    }
    wire::Rope node;
    node.add_bytes_field(field::kNodeName, boundary_node_name(model, dataflow, id));
    node.add_bytes_field(field::kNodeOp, "Placeholder");
    add_attr(node, "dtype", type_attr(type.dtype % 100));  // a placeholder holds values, never references
    wire::Rope shape;
    if (type.shape) {
      shape.add_view_field(field::kAttrShape, *type.shape, model.mapping());
    } else {
      wire::Rope unknown;
      unknown.add_varint_field(field::kShapeUnknownRank, 1);
      shape.add_message_field(field::kAttrShape, std::move(unknown));
    }
    add_attr(node, "shape", std::move(shape));
    graph.add_message_field(field::kGraphNode, std::move(node));
  }

  bool calls_functions = false;
  for (std::uint32_t id = 0; id < model.nodes.size(); ++id) {
    if (!included[id]) continue;
    const NodeDefRef& node = model.nodes[id];
    calls_functions = calls_functions || node.calls_functions ||
                      std::binary_search(model.library_functions.begin(), model.library_functions.end(), node.op);
    std::vector<std::optional<std::string>> rewrites;  // per input; "" drops it
    bool changed = false;
    for (const InputRef& input : node.inputs) {
      const std::uint32_t producer = *model.find_node(input.node);
      std::optional<std::string> rewrite;
      if (input.control && !included[producer] && copied_only[producer]) {
        // NB: a Const or weight-only node has no effect to wait for (frozen
        // Keras graphs end with a NoOp waiting for every weight's Identity),
        // so the wait is dropped instead of copying the weights here.
        rewrite = std::string();
      } else if (input.control && !included[producer]) {
        const std::uint32_t producer_part = part_of[producer];
        if (producer_part != kNoPart && producer_part > this_part) {
          fail(model.label, ": node ", modelcut::quoted(node.name), " waits for node ", modelcut::quoted(input.node),
               " (a control input), but the cut puts ", modelcut::quoted(input.node), " in part ", producer_part + 1,
               ", after the node waiting for it in part ", this_part + 1,
               "; cut elsewhere, or remove the control dependency");
        }
        rewrite = std::string();  // ran in an earlier part, or a graph input: already done
      } else if (!input.control && !included[producer]) {
        const std::string name = value_name(input.node, input.slot);
        auto it = renamed.find(name);
        if (it != renamed.end()) {
          rewrite = it->second;
        } else if (!crossing_in.count(name)) {
          // Only a loop's back edge is read without being a dataflow edge,
          // and check_loop_frames keeps both its ends in one part.
          fail(model.label, ": node ", modelcut::quoted(node.name), " of part ", this_part + 1, " reads ",
               modelcut::quoted(name), ", which neither the part computes nor an earlier part passes on");
        }
      }
      changed = changed || rewrite.has_value();
      rewrites.push_back(std::move(rewrite));
    }
    if (!changed) {
      graph.add_view_field(field::kGraphNode, node.payload, model.mapping());
      continue;
    }
    wire::Rope rewritten;
    wire::Reader reader(node.payload, model.label);
    wire::Field node_field;
    std::size_t input_index = 0;
    while (reader.next(node_field)) {
      if (node_field.number != field::kNodeInput) {
        rewritten.append_view(node_field.raw, model.mapping());
        continue;
      }
      const std::optional<std::string>& rewrite = rewrites[input_index++];
      if (!rewrite) {
        rewritten.append_view(node_field.raw, model.mapping());
      } else if (!rewrite->empty()) {
        rewritten.add_bytes_field(field::kNodeInput, *rewrite);
      }
    }
    graph.add_message_field(field::kGraphNode, std::move(rewritten));
  }

  // Identities naming the values that leave the part as output k > 0.
  const std::set<ValueId> inputs(part.inputs.begin(), part.inputs.end());
  for (ValueId id : part.outputs) {
    const Value& value = dataflow.value(id);
    if (value.kind != ValueKind::Computed || inputs.count(id)) continue;
    const auto [producer, slot] = tensor_of(model, dataflow, id);
    if (slot == 0) continue;
    const OutputType type = output_type(model, producer, slot);
    if (type.dtype == 0) {
      fail(model.label, ": no element type is known for ", modelcut::quoted(value.name), ", which crosses the cut");
    }
    wire::Rope node;
    node.add_bytes_field(field::kNodeName, boundary_node_name(model, dataflow, id));
    node.add_bytes_field(field::kNodeOp, "Identity");
    node.add_bytes_field(field::kNodeInput, value.name);
    add_attr(node, "T", type_attr(type.dtype % 100));
    graph.add_message_field(field::kGraphNode, std::move(node));
  }

  if (calls_functions && model.library) graph.append_view(model.library->raw, model.mapping());
  for (const wire::Field& graph_field : model.graph_fields) graph.append_view(graph_field.raw, model.mapping());
  return graph;
}

}  // namespace modelcut::tf
