// The element types modelcut knows, in one table shared by the format
// adapters: ONNX's TensorProto.DataType code, the name TensorInfo::dtype
// shows (numpy's spelling where numpy has the type), the size in bits, and
// the name Keras gives the type where Keras has it.
#pragma once

#include <string>

namespace modelcut {

struct Dtype {
  int onnx_code;           // TensorProto.DataType
  const char* name;        // "float32", "int64", "float8e4m3fn", ...
  int bits;                // element size; 0 for strings
  const char* keras_name;  // "" where Keras has no such type
};

// By ONNX code: the name, or "type<code>" for a code the table lacks.
std::string dtype_name(int onnx_data_type);
// By ONNX code: the element size in bits; 0 when unknown or not fixed.
int element_bits_of(int onnx_data_type);
// The ONNX code of a name from dtype_name; 0 when unknown.
int data_type_code(const std::string& dtype);
// The element size of a Keras dtype ("float32", "float8_e4m3fn") in bits;
// 0 when it is not a plain numeric Keras type.
int keras_dtype_bits(const std::string& keras_dtype);

}  // namespace modelcut
