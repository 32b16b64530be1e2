// Self-test for the ONNX-text test helper (onnx_text.h).
//
// The produced bytes are inspected with a minimal protobuf wire reader written
// here, so the test does not need protobuf or onnx. The cross-check against
// onnx's own parser lives in check_onnx_text.py.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "onnx_text.h"

namespace {

using modelcut::testing::onnx_model_from_text;
using modelcut::testing::OnnxTextError;

// ---- a tiny protobuf wire reader --------------------------------------------

struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t value = 0;      // varint / fixed32 / fixed64 payload
  std::string_view bytes;  // length-delimited payload
};

uint64_t read_varint(std::string_view data, size_t& pos) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= data.size()) throw std::runtime_error("truncated varint");
    const auto byte = static_cast<unsigned char>(data[pos++]);
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  throw std::runtime_error("varint too long");
}

std::vector<Field> parse_fields(std::string_view data) {
  std::vector<Field> fields;
  size_t pos = 0;
  while (pos < data.size()) {
    const uint64_t key = read_varint(data, pos);
    Field f;
    f.number = static_cast<int>(key >> 3);
    f.wire_type = static_cast<int>(key & 7);
    switch (f.wire_type) {
      case 0:
        f.value = read_varint(data, pos);
        break;
      case 1:
      case 5: {
        const size_t n = f.wire_type == 1 ? 8 : 4;
        if (pos + n > data.size()) throw std::runtime_error("truncated fixed field");
        for (size_t i = 0; i < n; ++i)
          f.value |= static_cast<uint64_t>(static_cast<unsigned char>(data[pos + i])) << (8 * i);
        pos += n;
        break;
      }
      case 2: {
        const uint64_t len = read_varint(data, pos);
        if (pos + len > data.size()) throw std::runtime_error("truncated length-delimited field");
        f.bytes = data.substr(pos, len);
        pos += len;
        break;
      }
      default:
        throw std::runtime_error("unexpected wire type");
    }
    fields.push_back(f);
  }
  return fields;
}

std::vector<Field> all(std::string_view msg, int number) {
  std::vector<Field> out;
  for (const Field& f : parse_fields(msg)) {
    if (f.number == number) out.push_back(f);
  }
  return out;
}
bool has(std::string_view msg, int number) { return !all(msg, number).empty(); }
std::string_view sub(std::string_view msg, int number, size_t index = 0) {
  const auto fields = all(msg, number);
  if (index >= fields.size()) throw std::runtime_error("missing field " + std::to_string(number));
  return fields[index].bytes;
}
std::string str(std::string_view msg, int number, size_t index = 0) { return std::string(sub(msg, number, index)); }
std::vector<std::string> strs(std::string_view msg, int number) {
  std::vector<std::string> out;
  for (const Field& f : all(msg, number)) out.emplace_back(f.bytes);
  return out;
}
int64_t int_of(std::string_view msg, int number) {
  const auto fields = all(msg, number);
  if (fields.empty()) throw std::runtime_error("missing field " + std::to_string(number));
  return static_cast<int64_t>(fields.back().value);
}
std::vector<int64_t> ints_of(std::string_view msg, int number) {  // packed or not
  std::vector<int64_t> out;
  for (const Field& f : all(msg, number)) {
    if (f.wire_type == 0) {
      out.push_back(static_cast<int64_t>(f.value));
    } else {
      size_t pos = 0;
      while (pos < f.bytes.size()) out.push_back(static_cast<int64_t>(read_varint(f.bytes, pos)));
    }
  }
  return out;
}
float as_float(uint64_t bits) {
  const auto b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
std::vector<float> floats_of(std::string_view msg, int number) {  // packed or not
  std::vector<float> out;
  for (const Field& f : all(msg, number)) {
    if (f.wire_type == 5) {
      out.push_back(as_float(f.value));
    } else {
      for (size_t i = 0; i + 4 <= f.bytes.size(); i += 4) {
        uint32_t bits = 0;
        for (size_t k = 0; k < 4; ++k)
          bits |= static_cast<uint32_t>(static_cast<unsigned char>(f.bytes[i + k])) << (8 * k);
        out.push_back(as_float(bits));
      }
    }
  }
  return out;
}

// Field numbers used below (onnx.proto).
constexpr int kModelIrVersion = 1, kModelGraph = 7, kModelOpset = 8, kModelProducer = 2, kModelFunctions = 25;
constexpr int kGraphNode = 1, kGraphName = 2, kGraphInit = 5, kGraphInput = 11, kGraphOutput = 12, kGraphValueInfo = 13;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOp = 4, kNodeAttr = 5, kNodeDomain = 7;
constexpr int kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrS = 4, kAttrT = 5, kAttrG = 6, kAttrInts = 8, kAttrType = 20;
constexpr int kVIName = 1, kVIType = 2, kTypeTensor = 1, kTensorElem = 1, kTensorShape = 2, kShapeDim = 1;
constexpr int kDimValue = 1, kDimParam = 2;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorFloat = 4, kTensorInt64 = 7, kTensorName = 8;
constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
constexpr int kFnName = 1, kFnInput = 4, kFnOutput = 5, kFnNode = 7, kFnOpset = 9, kFnDomain = 10;

std::string_view node(std::string_view model, size_t i) { return sub(sub(model, kModelGraph), kGraphNode, i); }

std::string_view attr(std::string_view node_msg, const std::string& name) {
  for (const Field& f : all(node_msg, kNodeAttr)) {
    if (str(f.bytes, kAttrName) == name) return f.bytes;
  }
  throw std::runtime_error("no attribute " + name);
}

// ---- tests --------------------------------------------------------------------

TEST(OnnxText, MinimalModel) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) { y = Relu(x) }
  )");
  EXPECT_EQ(int_of(m, kModelIrVersion), 8);
  const auto opset = sub(m, kModelOpset);
  EXPECT_EQ(str(opset, kOpsetDomain), "");
  EXPECT_EQ(int_of(opset, kOpsetVersion), 17);
  const auto graph = sub(m, kModelGraph);
  EXPECT_EQ(str(graph, kGraphName), "g");
  ASSERT_EQ(all(graph, kGraphNode).size(), 1u);
  EXPECT_EQ(str(node(m, 0), kNodeOp), "Relu");
  EXPECT_EQ(strs(node(m, 0), kNodeInput), std::vector<std::string>{"x"});
  EXPECT_EQ(strs(node(m, 0), kNodeOutput), std::vector<std::string>{"y"});
  EXPECT_EQ(str(sub(graph, kGraphInput), kVIName), "x");
  EXPECT_EQ(str(sub(graph, kGraphOutput), kVIName), "y");
}

TEST(OnnxText, BriefExample) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1], producer_name: "x">
    main (float[N,4] x, int64[2] shape) => (float[N,2] y)
      <float[2] bias = {1.0, 2.0}, int64[2] c = {1, 2}>
    {
      # comment
      a = Relu(x)
      b, d = Split(a)
      e = Clip(b, , bias)   # empty input name
      y = custom.MyOp <alpha: float = 0.1, axis = 1, perm = [0,2,1], mode = "x"> (e)
    }
  )");
  EXPECT_EQ(str(m, kModelProducer), "x");
  EXPECT_EQ(all(m, kModelOpset).size(), 2u);
  EXPECT_EQ(str(sub(m, kModelOpset, 1), kOpsetDomain), "custom");

  const auto graph = sub(m, kModelGraph);
  ASSERT_EQ(all(graph, kGraphNode).size(), 4u);
  EXPECT_EQ(strs(node(m, 1), kNodeOutput), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(strs(node(m, 2), kNodeInput), (std::vector<std::string>{"b", "", "bias"}));

  const auto my_op = node(m, 3);
  EXPECT_EQ(str(my_op, kNodeOp), "MyOp");
  EXPECT_EQ(str(my_op, kNodeDomain), "custom");
  EXPECT_EQ(str(node(m, 0), kNodeDomain), "");
  EXPECT_FLOAT_EQ(as_float(all(attr(my_op, "alpha"), kAttrF)[0].value), 0.1f);
  EXPECT_EQ(int_of(attr(my_op, "alpha"), kAttrType), 1);  // FLOAT
  EXPECT_EQ(int_of(attr(my_op, "axis"), kAttrI), 1);
  EXPECT_EQ(int_of(attr(my_op, "axis"), kAttrType), 2);  // INT
  EXPECT_EQ(ints_of(attr(my_op, "perm"), kAttrInts), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(int_of(attr(my_op, "perm"), kAttrType), 7);  // INTS
  EXPECT_EQ(str(attr(my_op, "mode"), kAttrS), "x");
  EXPECT_EQ(int_of(attr(my_op, "mode"), kAttrType), 3);  // STRING

  ASSERT_EQ(all(graph, kGraphInit).size(), 2u);
  const auto bias = sub(graph, kGraphInit, 0);
  EXPECT_EQ(str(bias, kTensorName), "bias");
  EXPECT_EQ(int_of(bias, kTensorDataType), 1);
  EXPECT_EQ(ints_of(bias, kTensorDims), std::vector<int64_t>{2});
  EXPECT_EQ(floats_of(bias, kTensorFloat), (std::vector<float>{1.0f, 2.0f}));
  const auto c = sub(graph, kGraphInit, 1);
  EXPECT_EQ(int_of(c, kTensorDataType), 7);
  EXPECT_EQ(ints_of(c, kTensorInt64), (std::vector<int64_t>{1, 2}));
}

TEST(OnnxText, ShapesAndTypes) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4, ?] a, float b, float[] c, int64[3] d, bool e, float16 f, uint8 g, int8 h, double i, int32 j)
      => (float y) <float[N] t> { y = Identity(b) }
  )");
  const auto graph = sub(m, kModelGraph);
  auto tensor_type = [&](size_t i) { return sub(sub(sub(graph, kGraphInput, i), kVIType), kTypeTensor); };

  const auto a_shape = sub(tensor_type(0), kTensorShape);
  ASSERT_EQ(all(a_shape, kShapeDim).size(), 3u);
  EXPECT_EQ(str(sub(a_shape, kShapeDim, 0), kDimParam), "N");
  EXPECT_EQ(int_of(sub(a_shape, kShapeDim, 1), kDimValue), 4);
  EXPECT_TRUE(sub(a_shape, kShapeDim, 2).empty());  // '?': a dimension with nothing set

  // 'float b' is a scalar: a shape with no dimensions. 'float[] c' has no shape at all.
  EXPECT_TRUE(has(tensor_type(1), kTensorShape));
  EXPECT_TRUE(sub(tensor_type(1), kTensorShape).empty());
  EXPECT_FALSE(has(tensor_type(2), kTensorShape));

  const std::vector<int64_t> expected_elem = {1, 1, 1, 7, 9, 10, 2, 3, 11, 6};
  for (size_t i = 0; i < expected_elem.size(); ++i) {
    EXPECT_EQ(int_of(tensor_type(i), kTensorElem), expected_elem[i]) << "input " << i;
  }
  EXPECT_EQ(str(sub(graph, kGraphValueInfo), kVIName), "t");
}

TEST(OnnxText, NodeNamesAndSubgraphs) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool cond, float[N] x) => (float[N] y) {
      [the_if] y = If(cond) <
          then_branch = then_g () => (float[N] z) { z = Identity(x) },   # outer-scope x
          else_branch = else_g () => (float[N] z) { z = Neg(x) }>
    }
  )");
  const auto if_node = node(m, 0);
  EXPECT_EQ(str(if_node, kNodeName), "the_if");
  const auto then_attr = attr(if_node, "then_branch");
  EXPECT_EQ(int_of(then_attr, kAttrType), 5);  // GRAPH
  const auto then_graph = sub(then_attr, kAttrG);
  EXPECT_EQ(str(then_graph, kGraphName), "then_g");
  EXPECT_FALSE(has(then_graph, kGraphInput));
  EXPECT_EQ(strs(sub(then_graph, kGraphNode), kNodeInput), std::vector<std::string>{"x"});
  EXPECT_EQ(str(sub(sub(attr(if_node, "else_branch"), kAttrG), kGraphNode), kNodeOp), "Neg");
}

TEST(OnnxText, TensorAttribute) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g () => (float[2] y) { y = Constant <value = float[2] {3, 4.5}> () }
  )");
  const auto value = attr(node(m, 0), "value");
  EXPECT_EQ(int_of(value, kAttrType), 4);  // TENSOR
  EXPECT_EQ(floats_of(sub(value, kAttrT), kTensorFloat), (std::vector<float>{3.0f, 4.5f}));
}

TEST(OnnxText, LocalFunctions) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
    g (float[N] x) => (float[N] y) { y = local.fname(x) }
    <domain: "local", opset_import: ["" : 17]>
    fname (x) => (y) { y = Relu(x) }
  )");
  EXPECT_EQ(str(node(m, 0), kNodeDomain), "local");
  ASSERT_EQ(all(m, kModelFunctions).size(), 1u);
  const auto fn = sub(m, kModelFunctions);
  EXPECT_EQ(str(fn, kFnName), "fname");
  EXPECT_EQ(str(fn, kFnDomain), "local");
  EXPECT_EQ(strs(fn, kFnInput), std::vector<std::string>{"x"});
  EXPECT_EQ(strs(fn, kFnOutput), std::vector<std::string>{"y"});
  EXPECT_EQ(str(sub(fn, kFnNode), kNodeOp), "Relu");
  EXPECT_EQ(int_of(sub(fn, kFnOpset), kOpsetVersion), 17);
}

TEST(OnnxText, EmptyNameRules) {
  const std::string m = onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float x) => (float y) {
      a = Op()
      b = Op(x, )
      c = Op(,)
      d = Op("")
      e = Op(, , x)
      y = Op(x)
    }
  )");
  using V = std::vector<std::string>;
  EXPECT_EQ(strs(node(m, 0), kNodeInput), V{});
  EXPECT_EQ(strs(node(m, 1), kNodeInput), V{"x"});
  EXPECT_EQ(strs(node(m, 2), kNodeInput), V{""});
  EXPECT_EQ(strs(node(m, 3), kNodeInput), V{""});
  EXPECT_EQ(strs(node(m, 4), kNodeInput), (V{"", "", "x"}));
}

struct BadText {
  const char* label;
  const char* text;
  int line;
};

class OnnxTextErrors : public ::testing::TestWithParam<BadText> {};

TEST_P(OnnxTextErrors, ThrowsWithLineNumber) {
  const BadText& bad = GetParam();
  try {
    onnx_model_from_text(bad.text);
    FAIL() << "no error for " << bad.label;
  } catch (const OnnxTextError& e) {
    EXPECT_EQ(e.line(), bad.line) << e.what();
    EXPECT_GE(e.column(), 1);
    EXPECT_NE(std::string(e.what()).find("line " + std::to_string(bad.line) + ","), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bad, OnnxTextErrors,
    ::testing::Values(
        BadText{"missing_paren", "<ir_version: 8>\ng (float x => (float y) { y = Relu(x) }", 2},
        BadText{"semicolon", "<ir_version: 8>\ng (float x) => (float y) {\n  y = Relu(x);\n}", 3},
        BadText{"unclosed_nodes", "<ir_version: 8>\ng (float x) => (float y) {\n  y = Relu(x)\n", 4},
        BadText{"bad_type", "<ir_version: 8>\ng (float x) => (float y) {\n  y = Foo <a: banana = 1> (x)\n}", 3},
        BadText{"type_mismatch", "<ir_version: 8>\ng (float x) => (float y) {\n\n  y = Foo <a: int = 1.5> (x)\n}", 4},
        BadText{"data_count", "<ir_version: 8>\ng (float x) => (float y)\n  <float[3] w = {1, 2}>\n{ y = Relu(x) }", 3},
        BadText{"unterminated_string", "<producer_name: \"abc>\ng () => () {}", 1}, BadText{"empty", "", 1}),
    [](const ::testing::TestParamInfo<BadText>& info) { return std::string(info.param.label); });

TEST(OnnxText, ErrorIsARuntimeError) {
  EXPECT_THROW(onnx_model_from_text("g (float x) => (float y) { y = }"), std::runtime_error);
}

}  // namespace
