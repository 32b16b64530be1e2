// An ONNX model as read from a file: the parts of ModelProto and GraphProto
// that cutting needs, parsed, and everything else kept as views of the
// original bytes so it can be written back unchanged.
//
// The model owns its bytes (a memory mapping, or a string for models made in
// memory); every string_view in it points into them and stays valid for the
// model's lifetime. Only graph structure is parsed; tensor contents are never
// touched, so loading costs the size of the graph, not of the weights.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../util/mapped_file.h"
#include "formats/dtypes.h"
#include "modelcut/dataflow.h"
#include "wire.h"

namespace modelcut::onnx {

// Field numbers from onnx.proto.
namespace field {
inline constexpr std::uint32_t kModelIrVersion = 1, kModelProducerName = 2, kModelGraph = 7, kModelOpsetImport = 8,
                               kModelTrainingInfo = 20, kModelFunctions = 25;
inline constexpr std::uint32_t kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphDocString = 10,
                               kGraphInput = 11, kGraphOutput = 12, kGraphValueInfo = 13,
                               kGraphQuantizationAnnotation = 14, kGraphSparseInitializer = 15,
                               kGraphMetadataProps = 16;
inline constexpr std::uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                               kNodeDomain = 7, kNodeOverload = 8, kNodeMetadataProps = 9;
inline constexpr std::uint32_t kAttributeName = 1, kAttributeGraph = 6, kAttributeGraphs = 11;
inline constexpr std::uint32_t kValueInfoName = 1, kValueInfoType = 2;
inline constexpr std::uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9,
                               kTensorExternalData = 13, kTensorDataLocation = 14;
inline constexpr std::uint32_t kSparseTensorValues = 1;
inline constexpr std::uint32_t kFunctionName = 1, kFunctionNode = 7, kFunctionDomain = 10, kFunctionOverload = 13;
inline constexpr std::uint32_t kOpsetDomain = 1, kOpsetVersion = 2;
inline constexpr std::uint32_t kEntryKey = 1, kEntryValue = 2;
inline constexpr std::uint32_t kAnnotationTensorName = 1;
}  // namespace field

using OpRef = std::pair<std::string, std::string>;  // (domain, op_type)

struct ValueInfoRef {
  std::string name;
  std::string_view payload;  // the whole ValueInfoProto
  std::string_view type;     // its TypeProto, empty when absent
};

struct NodeRef {
  std::string_view payload;  // the whole NodeProto
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // as written; "" marks an omitted optional input
  // Values of the enclosing graph read by this node's subgraphs (If, Loop, Scan).
  std::vector<std::string> outer_reads;
  // Operators called here and in subgraphs, to find the local functions a part needs.
  std::vector<OpRef> called_ops;
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Where an external tensor's bytes are, as the model states it (not yet
// checked: see OnnxModel::external_bytes).
struct ExternalRef {
  std::string location;  // relative to the model's folder
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

struct TensorRef {
  std::string name;
  std::string_view payload;  // the whole TensorProto (SparseTensorProto for sparse ones)
  int data_type = 0;
  std::vector<std::int64_t> dims;
  bool external = false;      // data lives in another file
  ExternalRef external_ref;   // when external
  std::string_view raw_data;  // inline raw bytes, a view into the model file
  // Bytes the shape and type call for; nullopt for strings, unknown types
  // and sizes that do not fit in 64 bits.
  std::optional<std::uint64_t> expected_bytes() const;
};

// The bytes of a tensor wherever they are: in the model file or in an
// external data file, with the file they lie in.
struct TensorBytes {
  const MappedFile* file = nullptr;
  std::string_view bytes;
};

struct FunctionRef {
  std::string domain, name;
  wire::Field field;  // the ModelProto field holding it, copied unchanged
  std::vector<OpRef> called_ops;
};

struct Opset {
  std::string domain;
  std::int64_t version = 0;
};

class OnnxModel {
 public:
  // Throws Error naming the file when it cannot be read or is not an ONNX model.
  static std::unique_ptr<OnnxModel> open(const std::filesystem::path& path);
  static std::unique_ptr<OnnxModel> from_bytes(std::string bytes, const std::string& label);
  OnnxModel(const OnnxModel&) = delete;
  OnnxModel& operator=(const OnnxModel&) = delete;

  // Adds types (from value_info, inputs and outputs) of a model that has the
  // same value names, typically the result of ONNX shape inference, for values
  // whose type this model does not record or records without a shape.
  void add_type_hints(std::string model_bytes);

  // The bytes of an initializer's data: its raw_data, or its external data
  // after checking that the location stays inside the model's folder
  // (no absolute path, no "..", no symbolic link leading out) and that offset
  // and length lie within the file. Empty bytes for tensors stored in typed
  // fields (float_data, ...). Throws Error naming the tensor.
  TensorBytes tensor_bytes(const TensorRef& tensor) const;
  const MappedFile* mapping() const { return mapping_.get(); }

  std::string label;           // the file name, for messages
  std::filesystem::path path;  // empty for models made in memory

  std::vector<wire::Field> model_fields;  // every ModelProto field in file order, the graph included
  std::int64_t ir_version = 0;
  std::string producer_name;
  std::vector<Opset> opsets;
  std::vector<FunctionRef> functions;

  std::string graph_name;
  std::vector<wire::Field> graph_annotations;  // doc_string and metadata_props, copied unchanged
  std::vector<NodeRef> nodes;
  std::vector<TensorRef> initializers;
  std::vector<TensorRef> sparse_initializers;
  std::vector<ValueInfoRef> inputs, outputs, value_info;
  std::vector<std::pair<std::string, wire::Field>> quantization_annotations;  // by tensor name

  // Best known TypeProto of every value that has one.
  std::map<std::string, std::string_view> types;

 private:
  OnnxModel() = default;
  void parse(std::string_view bytes);
  std::unique_ptr<MappedFile> mapping_;
  std::deque<std::string> owned_bytes_;
  mutable std::map<std::string, std::unique_ptr<MappedFile>> external_files_;  // by location
};

// Builds the format-neutral dataflow of the model's main graph, with scopes
// derived from the exporters' naming conventions (tf2onnx, PyTorch).
Dataflow index_onnx(const OnnxModel& model);

// Fills a TensorInfo from a TypeProto.
TensorInfo tensor_info_from_type(std::string_view type_proto, const std::string& what);

// The model's structure with large weights left out (marked external), small
// enough to hand to ONNX shape inference whatever the model's size.
std::string structure_only(const OnnxModel& model);

}  // namespace modelcut::onnx
