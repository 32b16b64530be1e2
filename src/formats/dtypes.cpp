// The element-type table (see dtypes.h). Rows follow ONNX's code order, so a
// code indexes its row; Keras names follow keras.backend's spelling.
#include "formats/dtypes.h"

#include <iterator>

namespace modelcut {
namespace {

constexpr Dtype kDtypes[] = {
    {0, "undefined", 0, ""},
    {1, "float32", 32, "float32"},
    {2, "uint8", 8, "uint8"},
    {3, "int8", 8, "int8"},
    {4, "uint16", 16, "uint16"},
    {5, "int16", 16, "int16"},
    {6, "int32", 32, "int32"},
    {7, "int64", 64, "int64"},
    {8, "string", 0, ""},
    {9, "bool", 8, "bool"},
    {10, "float16", 16, "float16"},
    {11, "float64", 64, "float64"},
    {12, "uint32", 32, "uint32"},
    {13, "uint64", 64, "uint64"},
    {14, "complex64", 64, "complex64"},
    {15, "complex128", 128, "complex128"},
    {16, "bfloat16", 16, "bfloat16"},
    {17, "float8e4m3fn", 8, "float8_e4m3fn"},
    {18, "float8e4m3fnuz", 8, ""},
    {19, "float8e5m2", 8, "float8_e5m2"},
    {20, "float8e5m2fnuz", 8, ""},
    {21, "uint4", 4, ""},
    {22, "int4", 4, ""},
    {23, "float4e2m1", 4, ""},
    {24, "float8e8m0", 8, ""},
    {25, "uint2", 2, ""},
    {26, "int2", 2, ""},
    {27, "float6e2m3", 6, ""},
    {28, "float6e3m2", 6, ""},
};

constexpr bool rows_follow_codes() {
  for (int code = 0; code < static_cast<int>(std::size(kDtypes)); ++code) {
    if (kDtypes[code].onnx_code != code) return false;
  }
  return true;
}
static_assert(rows_follow_codes(), "row k of kDtypes must hold ONNX code k");

const Dtype* by_onnx_code(int code) {
  if (code < 0 || code >= static_cast<int>(std::size(kDtypes))) return nullptr;
  return &kDtypes[code];
}

}  // namespace

std::string dtype_name(int onnx_data_type) {
  const Dtype* dtype = by_onnx_code(onnx_data_type);
  return dtype != nullptr ? dtype->name : "type" + std::to_string(onnx_data_type);
}

int element_bits_of(int onnx_data_type) {
  const Dtype* dtype = by_onnx_code(onnx_data_type);
  return dtype != nullptr ? dtype->bits : 0;
}

int data_type_code(const std::string& name) {
  for (const Dtype& dtype : kDtypes) {
    if (dtype.onnx_code != 0 && name == dtype.name) return dtype.onnx_code;
  }
  return 0;
}

int keras_dtype_bits(const std::string& keras_dtype) {
  for (const Dtype& dtype : kDtypes) {
    if (*dtype.keras_name != '\0' && keras_dtype == dtype.keras_name) return dtype.bits;
  }
  return 0;
}

}  // namespace modelcut
