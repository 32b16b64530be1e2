// Test support: build ONNX models from the ONNX textual syntax.
//
// The accepted language is the one of onnx.parser.parse_model (ONNX 1.23),
// for example:
//
//   <ir_version: 8, opset_import: ["" : 17]>
//   g (float[N, 4] x) => (float[N, 4] y) {
//     y = Relu(x)
//   }
//
// The result is a serialized ModelProto (protobuf wire bytes), produced without
// depending on protobuf or onnx at all, so C++ unit tests can describe a graph
// in a few lines. See onnx_text.cpp for the full list of supported constructs.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace modelcut::testing {

// Thrown on malformed text. what() reads
//   "ONNX text parse error at line L, column C: <reason>"
// followed by the offending source line and a caret. line() and column() are
// 1-based; the column counts bytes.
class OnnxTextError : public std::runtime_error {
 public:
  OnnxTextError(const std::string& message, int line, int column)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }

 private:
  int line_;
  int column_;
};

// Parses a model in ONNX text syntax and returns its ModelProto serialized as
// protobuf wire bytes. Throws OnnxTextError (a std::runtime_error) naming the
// line and column on a syntax error.
std::string onnx_model_from_text(std::string_view text);

}  // namespace modelcut::testing
