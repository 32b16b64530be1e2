// A frozen TensorFlow graph (GraphDef, usually a ".pb" file) as read from a
// file: node names, ops, inputs and the few attributes cutting needs are
// parsed; everything else, Const tensors and the function library included,
// is kept as views of the original bytes and written back unchanged.
//
// The model owns its bytes (a memory mapping, or a string for graphs made in
// memory); every string_view in it points into them and stays valid for the
// model's lifetime. A Const node's tensor is walked field by field to find its
// type, shape and the span of its content, never decoded or copied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../../util/mapped_file.h"
#include "../onnx/wire.h"
#include "modelcut/dataflow.h"
#include "modelcut/plan.h"

namespace modelcut::tf {

// Field numbers from tensorflow/core/framework/{graph,node_def,attr_value,
// tensor,tensor_shape,function,op_def}.proto.
namespace field {
inline constexpr std::uint32_t kGraphNode = 1, kGraphLibrary = 2, kGraphVersion = 3, kGraphVersions = 4;
inline constexpr std::uint32_t kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeDevice = 4, kNodeAttr = 5;
inline constexpr std::uint32_t kEntryKey = 1, kEntryValue = 2;
inline constexpr std::uint32_t kAttrList = 1, kAttrType = 6, kAttrShape = 7, kAttrTensor = 8, kAttrFunc = 10;
inline constexpr std::uint32_t kListType = 6, kListShape = 7, kListFunc = 9;
inline constexpr std::uint32_t kShapeDim = 2, kShapeUnknownRank = 3, kDimSize = 1;
inline constexpr std::uint32_t kTensorDtype = 1, kTensorShape = 2, kTensorContent = 4;
inline constexpr std::uint32_t kVersionsProducer = 1;
inline constexpr std::uint32_t kLibraryFunction = 1, kFunctionSignature = 1, kOpDefName = 1, kNameAttrListName = 1;
}  // namespace field

// One entry of NodeDef.input: "name" (output 0), "name:k", or "^name" (a
// control input: run after `name`, read nothing from it).
struct InputRef {
  std::string node;
  std::uint32_t slot = 0;
  bool control = false;
  std::string_view raw;  // the field as written, tag included, for copying unchanged
};

struct NodeDefRef {
  std::string_view payload;  // the whole NodeDef
  std::string name, op;
  std::vector<InputRef> inputs;  // in NodeDef order
  // attr map entries by key, their AttrValue bytes (a view).
  std::map<std::string, std::string_view> attrs;
  bool calls_functions = false;  // an attr names a function (func or list.func)
};

// A Const node's tensor: element type and shape from its TensorProto, and the
// span of its packed content (empty when the values are in typed fields such
// as float_val, which TensorFlow uses for small or splat tensors).
struct ConstTensor {
  int dtype = 0;
  std::vector<std::int64_t> dims;
  std::string_view content;
};

// A TF1 while-loop frame: the nodes between an Enter and the Exits of its
// loop, named by the Enter's frame_name attr. Frames nest.
struct Frame {
  std::string name;
  std::optional<std::uint32_t> parent;  // index into frames
};

inline constexpr std::uint32_t kNoFrame = UINT32_MAX;

class GraphDefModel {
 public:
  // Throws Error naming the file when it cannot be read or is not a GraphDef.
  static std::unique_ptr<GraphDefModel> open(const std::filesystem::path& path);
  static std::unique_ptr<GraphDefModel> from_bytes(std::string bytes, const std::string& label);
  GraphDefModel(const GraphDefModel&) = delete;
  GraphDefModel& operator=(const GraphDefModel&) = delete;

  const MappedFile* mapping() const { return mapping_.get(); }
  std::optional<std::uint32_t> find_node(const std::string& name) const;
  // The Const tensor of node `index` (which must be a Const). Throws Error.
  ConstTensor const_tensor(std::uint32_t index) const;

  std::string label;           // the file name, for messages
  std::filesystem::path path;  // empty for graphs made in memory

  std::vector<NodeDefRef> nodes;  // file order
  // GraphDef fields other than nodes and the library (versions, ...), copied
  // into every part unchanged.
  std::vector<wire::Field> graph_fields;
  // VersionDef.producer: the GraphDef version of the TensorFlow that wrote
  // the graph (what TensorFlow's own tools print), 0 when not recorded.
  std::int64_t producer_version = 0;
  std::optional<wire::Field> library;          // FunctionDefLibrary, copied to parts that call functions
  std::vector<std::string> library_functions;  // names of the functions it defines, sorted
  // Innermost while-loop frame of every node (kNoFrame outside loops); an
  // Exit belongs to the frame it leaves.
  std::vector<std::uint32_t> frame_of;
  std::vector<Frame> frames;

 private:
  GraphDefModel() = default;
  void parse(std::string_view bytes);
  void check_inputs() const;
  void find_frames();
  std::unique_ptr<MappedFile> mapping_;
  std::string owned_bytes_;
  std::map<std::string, std::uint32_t> node_by_name_;
};

// Ops of TF1 control flow whose frames a cut must not split.
bool is_loop_op(const std::string& op);

// The value name of a node's output: the node name for output 0 (TensorFlow
// reads "name" as "name:0"), "name:k" for the others.
std::string value_name(const std::string& node, std::uint32_t slot);

// Builds the format-neutral dataflow: Placeholder nodes are graph inputs,
// Const nodes stored weights, every other node a dataflow node scoped by its
// name ("sequential/fc2/BiasAdd" -> {"sequential", "fc2"}). Outputs of nodes
// that nothing reads are the graph outputs. Control inputs are not dataflow
// (see emit_graphdef.h for what a part does with them); a Merge's back edge
// from NextIteration is left out and each Exit reads its frame's
// NextIteration values (and each read Exit its frame's unread Exits)
// instead, so that a loop stays acyclic and whole.
struct GraphDefIndex {
  Dataflow dataflow;
  std::vector<std::uint32_t> source_node;  // by NodeId: the index of its NodeDef in model.nodes
};
GraphDefIndex index_graphdef(const GraphDefModel& model);

// Element type and shape of output `slot` of node `index`, from its attrs
// (dtype, T, out_type, ..., and _output_shapes when recorded). The TF
// DataType code is 0 when the attrs do not tell.
struct OutputType {
  int dtype = 0;
  std::optional<std::string_view> shape;  // a TensorShapeProto, when recorded
};
OutputType output_type(const GraphDefModel& model, std::uint32_t index, std::uint32_t slot);

// TensorInfo from a TF DataType code and a TensorShapeProto (when known).
TensorInfo tensor_info(int tf_dtype, const std::optional<std::string_view>& shape, const std::string& what);
// The same from a Const tensor's type and dims.
TensorInfo tensor_info(const ConstTensor& tensor);

// The AttrValue.type of attr `key` of a node; 0 when absent or not a type.
int attr_type(const NodeDefRef& node, const std::string& key, const std::string& what);
// AttrValue.b, AttrValue.s and AttrValue.list.i of attr `key`: false, empty
// and empty when absent.
bool attr_bool(const NodeDefRef& node, const std::string& key, const std::string& what);
std::string_view attr_string(const NodeDefRef& node, const std::string& key, const std::string& what);
std::vector<std::int64_t> attr_ints(const NodeDefRef& node, const std::string& key, const std::string& what);

// Fills in the shapes that the file does not record (no _output_shapes)
// where an op's output shape follows from its inputs' alone: elementwise
// ops, broadcasting binary ops, BiasAdd, MatMul and BatchMatMul. Values
// whose shape is known are left as they are.
void infer_shapes(const GraphDefModel& model, GraphDefIndex& index);

// What each node of the index costs (indexed by NodeId): bytes of the Const
// weights it reads (each counted once, at its first reader) and its
// multiply-accumulates from the shapes in the dataflow. Never throws for
// what the file holds: what cannot be counted gets macs_known = false.
std::vector<NodeCost> graphdef_node_costs(const GraphDefModel& model, const GraphDefIndex& index, const DimSizes& dims);

}  // namespace modelcut::tf
