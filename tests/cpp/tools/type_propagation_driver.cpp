// Test driver: prints the types modelcut's C++ core gives each computed value
// of ONNX models, for tests/e2e/test_type_propagation.py to compare with
// ONNX's own shape inference.
//
// Usage: type_propagation_driver MODEL.onnx...  One JSON line per model:
//   {"model": PATH, "values": {NAME: {"elem_type": 1, "dims": [2, "N", null]}, ...}}
// (elem_type is ONNX's TensorProto.DataType code, 0 for non-tensors; "dims" is
// null when the shape is unknown; a dim is an integer, a symbol or null), or {"model": PATH, "error": MESSAGE} when the
// core refuses the model.
#include <cstdio>
#include <exception>
#include <string>

#include "formats/onnx/onnx_model.h"
#include "modelcut/dataflow.h"
#include "modelcut/error.h"

namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_type(const modelcut::TensorInfo& info) {
  std::string out = "{\"elem_type\": " + std::to_string(modelcut::data_type_code(info.dtype)) + ", \"dims\": ";
  if (!info.has_shape) return out + "null}";
  out += "[";
  for (std::size_t i = 0; i < info.dims.size(); ++i) {
    const modelcut::Dim& dim = info.dims[i];
    if (i > 0) out += ", ";
    out += dim.is_fixed() ? std::to_string(dim.size) : dim.symbol.empty() ? "null" : json_string(dim.symbol);
  }
  return out + "]}";
}

std::string describe(const char* path) {
  auto model = modelcut::onnx::OnnxModel::open(path);
  const modelcut::Dataflow dataflow = modelcut::onnx::index_onnx(*model);
  std::string values;
  for (const modelcut::Value& value : dataflow.values()) {
    if (value.kind != modelcut::ValueKind::Computed || !value.info.known) continue;
    if (!values.empty()) values += ", ";
    values += json_string(value.name) + ": " + json_type(value.info);
  }
  return "{\"model\": " + json_string(path) + ", \"values\": {" + values + "}}";
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string line;
    try {
      line = describe(argv[i]);
    } catch (const modelcut::Error& error) {
      line = "{\"model\": " + json_string(argv[i]) + ", \"error\": " + json_string(error.what()) + "}";
    }
    std::fputs((line + "\n").c_str(), stdout);
  }
  return 0;
}
