// Test support: ONNX textual syntax -> serialized ModelProto.
//
// A small recursive-descent reader for the language accepted by
// onnx.parser.parse_model (ONNX 1.23) plus a minimal protobuf wire encoder.
// Nothing here depends on protobuf or onnx; field numbers follow onnx.proto.
//
// Supported (see tests/cpp/support/check_onnx_text.py for cross-checks):
//   model     := header? graph function*
//   header    := '<' key ':' value (',' key ':' value)* '>'
//                keys: ir_version, opset_import, producer_name, producer_version,
//                      domain, model_version, doc_string, metadata_props
//   graph     := name '(' inputs? ')' '=>' '(' outputs? ')' ('<' extras? '>')? '{' node* '}'
//                inputs may carry a value ('float[2] x = {1, 2}') which also makes
//                an initializer; extras are value_info ('float[N] t') or
//                initializers ('float[2] w = {1, 2}')
//   node      := ('[' name ']')? outputs '=' (domain '.')* op (':' overload)?
//                attrs? '(' inputs ')' attrs?
//   attrs     := '<' attr (',' attr)* '>'
//   attr      := id (':' attr-type)? '=' (value | '[' values? ']')
//   value     := int | float | "string" | tensor | type | graph | '@' ref
//   function  := header? name ('<' attr-names-or-defaults '>')? '(' io ')' '=>' '(' io ')'
//                ('<' value-infos '>')? '{' node* '}'
//   type      := prim-type | prim-type '[' ']' | prim-type '[' dims ']'
//              | seq(type) | map(prim-type, type) | optional(type)
//              | sparse_tensor(tensor-type) | opaque(...)
//   dims      := ('?' | id | "quoted" | int) (',' ...)*
// '#' starts a comment that runs to the end of the line.
//
// Semantics worth knowing (same as onnx): 'float x' is a scalar (shape with no
// dims), 'float[] x' has unknown rank (no shape), '?' is a dim with nothing set.
// float16/bfloat16 data are written as integer bit patterns ({15360} is 1.0).
// Nodes always get a domain ("" by default), tensors always get a name.
//
// Deliberate differences from onnx's own parser (all of them reject text, or
// encode something onnx would drop or mangle):
//   * '{...}' tensor data must hold exactly as many values as the shape implies
//     (complex types: two per element; 2/4/6-bit types are not counted).
//   * An operator name is required ('y = (x)' is an error, not op_type "").
//   * Unsigned tensor data rejects negative literals; numbers must be
//     well-formed ("1e" is an error).
//   * Lists of tensors, graphs and types are encoded (TENSORS/GRAPHS/TYPE_PROTOS)
//     rather than silently dropped; an '@ref' inside a list is an error.
//   * 'inf'/'nan' are recognized only as whole words, so a subgraph may be
//     called e.g. 'inf_branch'.
//   * A tensor attribute value may carry a quoted name: 't = float[1] "n" {1}'.

#include "onnx_text.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace modelcut::testing {
namespace {

// ---------------------------------------------------------------------------
// Protobuf wire encoding.

class Message {
 public:
  // Varint-encoded scalar (int32/int64/enum/uint64); negative values are
  // sign-extended to 64 bits as protobuf requires.
  Message& varint(int field, uint64_t value) {
    tag(field, 0);
    raw_varint(value);
    return *this;
  }
  Message& int64(int field, int64_t value) { return varint(field, static_cast<uint64_t>(value)); }

  Message& bytes(int field, std::string_view data) {
    tag(field, 2);
    raw_varint(data.size());
    buffer_.append(data.data(), data.size());
    return *this;
  }
  Message& message(int field, const Message& sub) { return bytes(field, sub.buffer_); }
  Message& message(int field, const std::string& encoded) { return bytes(field, encoded); }

  Message& float32(int field, float value) {
    tag(field, 5);
    raw_fixed32(value);
    return *this;
  }

  // Repeated fields.
  Message& strings(int field, const std::vector<std::string>& values) {
    for (const auto& v : values) bytes(field, v);
    return *this;
  }
  Message& messages(int field, const std::vector<std::string>& encoded) { return strings(field, encoded); }
  Message& int64s_unpacked(int field, const std::vector<int64_t>& values) {
    for (int64_t v : values) int64(field, v);
    return *this;
  }
  Message& float32s_unpacked(int field, const std::vector<float>& values) {
    for (float v : values) float32(field, v);
    return *this;
  }
  template <typename Int>
  Message& varints_packed(int field, const std::vector<Int>& values) {
    if (values.empty()) return *this;
    Message body;
    for (Int v : values) body.raw_varint(static_cast<uint64_t>(static_cast<int64_t>(v)));
    return bytes(field, body.buffer_);
  }
  Message& uint64s_packed(int field, const std::vector<uint64_t>& values) {
    if (values.empty()) return *this;
    Message body;
    for (uint64_t v : values) body.raw_varint(v);
    return bytes(field, body.buffer_);
  }
  Message& float32s_packed(int field, const std::vector<float>& values) {
    if (values.empty()) return *this;
    Message body;
    for (float v : values) body.raw_fixed32(v);
    return bytes(field, body.buffer_);
  }
  Message& float64s_packed(int field, const std::vector<double>& values) {
    if (values.empty()) return *this;
    Message body;
    for (double v : values) body.raw_fixed64(v);
    return bytes(field, body.buffer_);
  }

  const std::string& str() const { return buffer_; }

 private:
  void tag(int field, int wire_type) {
    raw_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
  }
  void raw_varint(uint64_t value) {
    while (value >= 0x80) {
      buffer_.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    buffer_.push_back(static_cast<char>(value));
  }
  void raw_fixed32(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) buffer_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }
  void raw_fixed64(double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 8; ++i) buffer_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }

  std::string buffer_;
};

// ---------------------------------------------------------------------------
// Field numbers (onnx.proto, ONNX 1.23).

namespace model_f {
constexpr int kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kDomain = 4, kModelVersion = 5, kDocString = 6,
              kGraph = 7, kOpsetImport = 8, kMetadataProps = 14, kFunctions = 25;
}
namespace graph_f {
constexpr int kNode = 1, kName = 2, kInitializer = 5, kInput = 11, kOutput = 12, kValueInfo = 13;
}
namespace node_f {
constexpr int kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5, kDomain = 7, kOverload = 8;
}
namespace attr_f {
constexpr int kName = 1, kF = 2, kI = 3, kS = 4, kT = 5, kG = 6, kFloats = 7, kInts = 8, kStrings = 9, kTensors = 10,
              kGraphs = 11, kTp = 14, kTypeProtos = 15, kType = 20, kRefAttrName = 21;
}
namespace value_info_f {
constexpr int kName = 1, kType = 2;
}
namespace type_f {
constexpr int kTensorType = 1, kSequenceType = 4, kMapType = 5, kOpaqueType = 7, kSparseTensorType = 8,
              kOptionalType = 9;
// TypeProto.Tensor / TypeProto.SparseTensor
constexpr int kElemType = 1, kShape = 2;
// TypeProto.Sequence / TypeProto.Optional
constexpr int kNestedElemType = 1;
// TypeProto.Map
constexpr int kKeyType = 1, kValueType = 2;
// TypeProto.Opaque
constexpr int kOpaqueDomain = 1, kOpaqueName = 2;
// TensorShapeProto and its Dimension
constexpr int kDim = 1, kDimValue = 1, kDimParam = 2;
}  // namespace type_f
namespace tensor_f {
constexpr int kDims = 1, kDataType = 2, kFloatData = 4, kInt32Data = 5, kStringData = 6, kInt64Data = 7, kName = 8,
              kDoubleData = 10, kUint64Data = 11, kExternalData = 13, kDataLocation = 14;
constexpr int kLocationExternal = 1;
}  // namespace tensor_f
namespace opset_f {
constexpr int kDomain = 1, kVersion = 2;
}
namespace entry_f {  // StringStringEntryProto
constexpr int kKey = 1, kValue = 2;
}
namespace function_f {
constexpr int kName = 1, kInput = 4, kOutput = 5, kAttribute = 6, kNode = 7, kDocString = 8, kOpsetImport = 9,
              kDomain = 10, kAttributeProto = 11, kValueInfo = 12, kOverload = 13;
}

// AttributeProto.AttributeType
enum AttrType : int {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

struct NamedCode {
  const char* name;
  int code;
};

// TensorProto.DataType spellings used by the text syntax.
constexpr NamedCode kElementTypes[] = {
    {"float", 1},         {"uint8", 2},           {"int8", 3},        {"uint16", 4},
    {"int16", 5},         {"int32", 6},           {"int64", 7},       {"string", 8},
    {"bool", 9},          {"float16", 10},        {"double", 11},     {"uint32", 12},
    {"uint64", 13},       {"complex64", 14},      {"complex128", 15}, {"bfloat16", 16},
    {"float8e4m3fn", 17}, {"float8e4m3fnuz", 18}, {"float8e5m2", 19}, {"float8e5m2fnuz", 20},
    {"uint4", 21},        {"int4", 22},           {"float4e2m1", 23}, {"float8e8m0", 24},
    {"uint2", 25},        {"int2", 26},           {"float6e2m3", 27}, {"float6e3m2", 28},
};

constexpr NamedCode kAttrTypeNames[] = {
    {"float", kFloat},
    {"int", kInt},
    {"string", kString},
    {"tensor", kTensor},
    {"graph", kGraph},
    {"sparse_tensor", kSparseTensor},
    {"type_proto", kTypeProto},
    {"floats", kFloats},
    {"ints", kInts},
    {"strings", kStrings},
    {"tensors", kTensors},
    {"graphs", kGraphs},
    {"sparse_tensors", kSparseTensors},
    {"type_protos", kTypeProtos},
};

template <size_t N>
int lookup(const NamedCode (&table)[N], std::string_view name) {
  for (const auto& entry : table) {
    if (name == entry.name) return entry.code;
  }
  return 0;
}

const char* attr_type_name(int type) {
  for (const auto& entry : kAttrTypeNames) {
    if (entry.code == type) return entry.name;
  }
  return "undefined";
}

bool is_list_attr_type(int t) {
  return t == kFloats || t == kInts || t == kStrings || t == kTensors || t == kGraphs || t == kSparseTensors ||
         t == kTypeProtos;
}

int element_attr_type(int list_type) {
  switch (list_type) {
    case kFloats:
      return kFloat;
    case kInts:
      return kInt;
    case kStrings:
      return kString;
    case kTensors:
      return kTensor;
    case kGraphs:
      return kGraph;
    case kSparseTensors:
      return kSparseTensor;
    case kTypeProtos:
      return kTypeProto;
    default:
      return list_type;
  }
}

int list_attr_type(int element_type) {
  switch (element_type) {
    case kFloat:
      return kFloats;
    case kInt:
      return kInts;
    case kString:
      return kStrings;
    case kTensor:
      return kTensors;
    case kGraph:
      return kGraphs;
    case kSparseTensor:
      return kSparseTensors;
    case kTypeProto:
      return kTypeProtos;
    default:
      return element_type;
  }
}

// How literal tensor data of a given element type is stored.
enum class Storage { kInt32, kInt64, kUint64, kFloat, kDouble, kString, kNone };

Storage storage_of(int data_type) {
  switch (data_type) {
    case 1:   // float
    case 14:  // complex64
      return Storage::kFloat;
    case 11:  // double
    case 15:  // complex128
      return Storage::kDouble;
    case 7:
      return Storage::kInt64;
    case 12:  // uint32
    case 13:  // uint64
      return Storage::kUint64;
    case 8:
      return Storage::kString;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 9:
    case 10:
    case 16:
    case 17:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26:
    case 27:
    case 28:
      return Storage::kInt32;
    default:
      return Storage::kNone;
  }
}

// Number of stored values per tensor element, or 0 when not checked
// (sub-byte types, whose packing conventions vary).
int values_per_element(int data_type) {
  switch (data_type) {
    case 14:
    case 15:
      return 2;
    case 21:
    case 22:
    case 23:
    case 25:
    case 26:
    case 27:
    case 28:
      return 0;
    default:
      return 1;
  }
}

bool is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_ident_char(int c) { return is_ident_start(c) || is_digit(c); }
bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool is_special_float_word(std::string_view word) {
  std::string lower(word);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower == "inf" || lower == "infinity" || lower == "nan";
}

// ---------------------------------------------------------------------------
// Parsed pieces that are needed again after parsing (everything else is
// encoded as soon as it is read).

struct Dim {
  enum class Kind { kUnknown, kValue, kParam } kind = Kind::kUnknown;
  int64_t value = 0;
  std::string param;
};

struct Type {
  std::string encoded;  // TypeProto body
  bool is_tensor = false;
  int elem_type = 0;
  bool has_shape = false;
  std::vector<Dim> dims;
};

struct ValueInfo {
  std::string name;
  std::optional<Type> type;

  std::string encode() const {
    Message m;
    m.bytes(value_info_f::kName, name);
    if (type) m.message(value_info_f::kType, type->encoded);
    return m.str();
  }
};

struct Literal {
  enum class Kind { kInt, kFloat, kString } kind = Kind::kInt;
  std::string text;  // digits or the unescaped string contents
  size_t pos = 0;    // where it started, for diagnostics
};

// One attribute value as written (a list element or a whole singular value).
struct AttrValue {
  int type = kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;        // STRING
  std::string encoded;  // TENSOR / GRAPH / TYPE_PROTO body
  std::optional<std::string> ref;
};

// ---------------------------------------------------------------------------
// The parser.

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::string parse_model() {
    Message model;
    std::optional<int64_t> ir_version, model_version;
    std::optional<std::string> producer_name, producer_version, domain, doc_string;
    std::vector<std::string> opsets, metadata, functions;

    if (accept('<')) {
      do {
        const size_t key_pos = position();
        const std::string key = identifier("a model property name");
        expect(':');
        if (key == "ir_version") {
          ir_version = to_int64(read_int_literal());
        } else if (key == "opset_import") {
          parse_opset_list(opsets);
        } else if (key == "producer_name") {
          producer_name = string_literal();
        } else if (key == "producer_version") {
          producer_version = string_literal();
        } else if (key == "domain") {
          domain = string_literal();
        } else if (key == "model_version") {
          model_version = to_int64(read_int_literal());
        } else if (key == "doc_string") {
          doc_string = string_literal();
        } else if (key == "metadata_props") {
          parse_metadata_list(metadata);
        } else {
          fail_at(key_pos, "unknown model property '" + key + "'");
        }
      } while (accept(','));
      expect('>');
    }

    const std::string graph = parse_graph();
    while (!at_end()) functions.push_back(parse_function());

    if (ir_version) model.int64(model_f::kIrVersion, *ir_version);
    if (producer_name) model.bytes(model_f::kProducerName, *producer_name);
    if (producer_version) model.bytes(model_f::kProducerVersion, *producer_version);
    if (domain) model.bytes(model_f::kDomain, *domain);
    if (model_version) model.int64(model_f::kModelVersion, *model_version);
    if (doc_string) model.bytes(model_f::kDocString, *doc_string);
    model.message(model_f::kGraph, graph);
    model.messages(model_f::kOpsetImport, opsets);
    model.messages(model_f::kMetadataProps, metadata);
    model.messages(model_f::kFunctions, functions);
    return model.str();
  }

 private:
  // ---- diagnostics --------------------------------------------------------

  [[noreturn]] void fail_at(size_t pos, const std::string& reason) const {
    if (pos > text_.size()) pos = text_.size();
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos; ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    const int column = static_cast<int>(pos - line_start) + 1;
    size_t line_end = text_.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text_.size();
    std::string source_line(text_.substr(line_start, line_end - line_start));
    if (!source_line.empty() && source_line.back() == '\r') source_line.pop_back();

    std::string message = "ONNX text parse error at line " + std::to_string(line) + ", column " +
                          std::to_string(column) + ": " + reason + "\n  | " + source_line + "\n  | ";
    for (size_t i = line_start; i < pos; ++i) message.push_back(text_[i] == '\t' ? '\t' : ' ');
    message.push_back('^');
    throw OnnxTextError(message, line, column);
  }
  [[noreturn]] void fail(const std::string& reason) { fail_at(position(), reason); }

  std::string describe_next() {
    const int c = peek();
    if (c < 0) return "end of input";
    if (c == '"') return "a string";
    if (is_ident_start(c)) return "'" + std::string(peek_identifier()) + "'";
    return std::string("'") + static_cast<char>(c) + "'";
  }

  // ---- lexical helpers ----------------------------------------------------

  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (is_space(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  size_t position() {
    skip_space();
    return pos_;
  }
  // Next significant character, or -1 at the end of input.
  int peek() {
    skip_space();
    return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1;
  }
  bool at_end() { return peek() < 0; }
  bool accept(char c) {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "' but found " + describe_next());
  }
  // '=>' must be written without a space between the two characters.
  void expect_arrow() {
    expect('=');
    if (pos_ >= text_.size() || text_[pos_] != '>') fail("expected '=>'");
    ++pos_;
  }

  std::string_view peek_identifier() {
    skip_space();
    size_t end = pos_;
    if (end < text_.size() && is_ident_start(static_cast<unsigned char>(text_[end]))) {
      while (end < text_.size() && is_ident_char(static_cast<unsigned char>(text_[end]))) ++end;
    }
    return text_.substr(pos_, end - pos_);
  }
  std::string optional_identifier() {
    const std::string_view id = peek_identifier();
    pos_ += id.size();
    return std::string(id);
  }
  std::string identifier(const char* what) {
    std::string id = optional_identifier();
    if (id.empty()) fail(std::string("expected ") + what + " but found " + describe_next());
    return id;
  }

  // A double-quoted string; a backslash makes the next character literal.
  std::string string_literal() {
    if (peek() != '"') fail("expected a string literal but found " + describe_next());
    const size_t start = pos_++;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) fail_at(start, "unterminated string literal");
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail_at(start, "unterminated string literal");
        value.push_back(text_[pos_++]);
      } else {
        value.push_back(c);
      }
    }
    return value;
  }

  // identifier | "quoted string"
  std::string quotable_identifier(const char* what) {
    if (peek() == '"') return string_literal();
    return identifier(what);
  }

  bool next_is_type() {
    const std::string_view id = peek_identifier();
    if (id.empty()) return false;
    return lookup(kElementTypes, id) != 0 || id == "seq" || id == "map" || id == "optional" || id == "sparse_tensor" ||
           id == "opaque";
  }

  // Number or string literal.
  Literal literal() {
    Literal lit;
    const int c = peek();
    lit.pos = pos_;
    if (c == '"') {
      lit.kind = Literal::Kind::kString;
      lit.text = string_literal();
      return lit;
    }
    size_t p = pos_;
    if (p < text_.size() && text_[p] == '-') ++p;
    const int first = p < text_.size() ? static_cast<unsigned char>(text_[p]) : -1;
    if (is_ident_start(first)) {
      size_t end = p;
      while (end < text_.size() && is_ident_char(static_cast<unsigned char>(text_[end]))) ++end;
      if (!is_special_float_word(text_.substr(p, end - p))) fail("expected a number but found " + describe_next());
      lit.kind = Literal::Kind::kFloat;
      lit.text = std::string(text_.substr(pos_, end - pos_));
      pos_ = end;
      return lit;
    }
    if (!is_digit(first)) fail("expected a value but found " + describe_next());
    bool is_float = false;
    while (p < text_.size() && is_digit(static_cast<unsigned char>(text_[p]))) ++p;
    if (p < text_.size() && text_[p] == '.') {
      is_float = true;
      ++p;
      while (p < text_.size() && is_digit(static_cast<unsigned char>(text_[p]))) ++p;
    }
    if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
      is_float = true;
      ++p;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      const size_t digits = p;
      while (p < text_.size() && is_digit(static_cast<unsigned char>(text_[p]))) ++p;
      if (p == digits) fail_at(lit.pos, "malformed number: missing exponent digits");
    }
    if (p < text_.size() && is_ident_char(static_cast<unsigned char>(text_[p]))) {
      fail_at(p, "malformed number");
    }
    lit.kind = is_float ? Literal::Kind::kFloat : Literal::Kind::kInt;
    lit.text = std::string(text_.substr(pos_, p - pos_));
    pos_ = p;
    return lit;
  }

  Literal read_int_literal() {
    Literal lit = literal();
    if (lit.kind != Literal::Kind::kInt) fail_at(lit.pos, "expected an integer");
    return lit;
  }

  int64_t to_int64(const Literal& lit) {
    if (lit.kind != Literal::Kind::kInt) fail_at(lit.pos, "expected an integer");
    int64_t value = 0;
    const char* b = lit.text.data();
    const char* e = b + lit.text.size();
    auto [ptr, ec] = std::from_chars(b, e, value);
    if (ec != std::errc() || ptr != e) fail_at(lit.pos, "integer out of range: " + lit.text);
    return value;
  }
  uint64_t to_uint64(const Literal& lit) {
    if (lit.kind != Literal::Kind::kInt) fail_at(lit.pos, "expected an integer");
    if (!lit.text.empty() && lit.text[0] == '-') fail_at(lit.pos, "expected a non-negative integer");
    uint64_t value = 0;
    const char* b = lit.text.data();
    const char* e = b + lit.text.size();
    auto [ptr, ec] = std::from_chars(b, e, value);
    if (ec != std::errc() || ptr != e) fail_at(lit.pos, "integer out of range: " + lit.text);
    return value;
  }
  template <typename Real>
  Real to_real(const Literal& lit) {
    if (lit.kind == Literal::Kind::kString) fail_at(lit.pos, "expected a number");
    Real value = 0;
    const char* b = lit.text.data();
    const char* e = b + lit.text.size();
    auto [ptr, ec] = std::from_chars(b, e, value, std::chars_format::general);
    if (ec != std::errc() || ptr != e) fail_at(lit.pos, "number out of range: " + lit.text);
    return value;
  }

  // ---- types and value infos ------------------------------------------------

  std::vector<Dim> parse_dims() {
    std::vector<Dim> dims;
    do {
      Dim d;
      if (accept('?')) {
        d.kind = Dim::Kind::kUnknown;
      } else if (peek() == '"') {
        d.kind = Dim::Kind::kParam;
        d.param = string_literal();
      } else if (is_ident_start(peek())) {
        d.kind = Dim::Kind::kParam;
        d.param = optional_identifier();
      } else {
        d.kind = Dim::Kind::kValue;
        d.value = to_int64(read_int_literal());
      }
      dims.push_back(std::move(d));
    } while (accept(','));
    return dims;
  }

  static std::string encode_tensor_like(const Type& t) {
    Message tensor;
    tensor.int64(type_f::kElemType, t.elem_type);
    if (t.has_shape) {
      Message shape;
      for (const Dim& d : t.dims) {
        Message dim;
        if (d.kind == Dim::Kind::kValue) dim.int64(type_f::kDimValue, d.value);
        if (d.kind == Dim::Kind::kParam) dim.bytes(type_f::kDimParam, d.param);
        shape.message(type_f::kDim, dim);
      }
      tensor.message(type_f::kShape, shape);
    }
    return tensor.str();
  }

  // prim-type ( '[' dims? ']' )?  -- no brackets: scalar; '[]': unknown rank.
  Type parse_tensor_like(int elem_type) {
    Type t;
    t.elem_type = elem_type;
    if (accept('[')) {
      if (!accept(']')) {
        t.dims = parse_dims();
        t.has_shape = true;
        expect(']');
      }
    } else {
      t.has_shape = true;
    }
    return t;
  }

  int primitive_type(const char* context) {
    const size_t p = position();
    const std::string id = identifier("an element type");
    const int code = lookup(kElementTypes, id);
    if (code == 0) fail_at(p, std::string("expected an element type ") + context + ", found '" + id + "'");
    return code;
  }

  Type parse_type() {
    const size_t p = position();
    const std::string id = identifier("a type");
    Type result;
    Message type;
    if (const int elem = lookup(kElementTypes, id); elem != 0) {
      result = parse_tensor_like(elem);
      result.is_tensor = true;
      type.message(type_f::kTensorType, encode_tensor_like(result));
    } else if (id == "seq" || id == "optional") {
      expect('(');
      const Type inner = parse_type();
      expect(')');
      Message nested;
      nested.message(type_f::kNestedElemType, inner.encoded);
      type.message(id == "seq" ? type_f::kSequenceType : type_f::kOptionalType, nested);
    } else if (id == "map") {
      expect('(');
      const int key = primitive_type("as map key");
      expect(',');
      const Type value = parse_type();
      expect(')');
      Message map;
      map.int64(type_f::kKeyType, key).message(type_f::kValueType, value.encoded);
      type.message(type_f::kMapType, map);
    } else if (id == "sparse_tensor") {
      expect('(');
      const Type inner = parse_tensor_like(primitive_type("in sparse_tensor"));
      expect(')');
      type.message(type_f::kSparseTensorType, encode_tensor_like(inner));
    } else if (id == "opaque") {
      // opaque() | opaque(name) | opaque(domain, name); the first part may be dotted.
      expect('(');
      Message opaque;
      if (!accept(')')) {
        std::string first = identifier("an opaque type name");
        while (accept('.')) first += "." + identifier("an identifier");
        if (accept(',')) {
          opaque.bytes(type_f::kOpaqueDomain, first);
          opaque.bytes(type_f::kOpaqueName, identifier("an opaque type name"));
        } else {
          opaque.bytes(type_f::kOpaqueName, first);
        }
        expect(')');
      }
      type.message(type_f::kOpaqueType, opaque);
    } else {
      fail_at(p, "unknown type '" + id + "'");
    }
    result.encoded = type.str();
    return result;
  }

  // type? name
  ValueInfo parse_value_info() {
    ValueInfo vi;
    if (next_is_type()) vi.type = parse_type();
    vi.name = quotable_identifier("a value name");
    return vi;
  }

  // ---- tensors ------------------------------------------------------------

  // The data part of a tensor whose name and type were already read:
  // '{' values '}' | '[' "key" : "value", ... ']' | nothing.
  std::string parse_tensor_data(const std::string& name, const std::optional<Type>& type, size_t type_pos) {
    if (!type || !type->is_tensor) fail_at(type_pos, "a tensor value needs a tensor type");
    if (!type->has_shape) fail_at(type_pos, "a tensor value needs a shape ('float[2]', or 'float' for a scalar)");
    std::vector<int64_t> dims;
    int64_t element_count = 1;
    for (const Dim& d : type->dims) {
      if (d.kind != Dim::Kind::kValue) fail_at(type_pos, "a tensor value needs numeric dimensions");
      dims.push_back(d.value);
      element_count *= d.value;
    }
    const int data_type = type->elem_type;

    std::vector<float> floats;
    std::vector<int32_t> int32s;
    std::vector<std::string> strings;
    std::vector<int64_t> int64s;
    std::vector<double> doubles;
    std::vector<uint64_t> uint64s;
    std::vector<std::string> external;
    bool is_external = false;

    if (accept('{')) {
      const size_t open_pos = pos_ - 1;
      size_t count = 0;
      if (!accept('}')) {
        const Storage storage = storage_of(data_type);
        do {
          const Literal lit = literal();
          ++count;
          switch (storage) {
            case Storage::kFloat:
              floats.push_back(to_real<float>(lit));
              break;
            case Storage::kDouble:
              doubles.push_back(to_real<double>(lit));
              break;
            case Storage::kInt64:
              int64s.push_back(to_int64(lit));
              break;
            case Storage::kUint64:
              uint64s.push_back(to_uint64(lit));
              break;
            case Storage::kInt32: {
              const int64_t v = to_int64(lit);
              if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
                fail_at(lit.pos, "value out of range for this element type");
              }
              int32s.push_back(static_cast<int32_t>(v));
              break;
            }
            case Storage::kString:
              if (lit.kind != Literal::Kind::kString) fail_at(lit.pos, "expected a string literal");
              strings.push_back(lit.text);
              break;
            case Storage::kNone:
              fail_at(lit.pos, "literal data is not supported for this element type");
          }
        } while (accept(','));
        expect('}');
      }
      const int per_element = values_per_element(data_type);
      if (per_element != 0 && static_cast<int64_t>(count) != element_count * per_element) {
        fail_at(open_pos, "tensor '" + name + "' has shape with " + std::to_string(element_count) + " element(s) but " +
                              std::to_string(count) + " value(s) were given");
      }
    } else if (accept('[')) {
      is_external = true;
      do {
        const std::string key = string_literal();
        expect(':');
        const std::string value = string_literal();
        Message entry;
        entry.bytes(entry_f::kKey, key).bytes(entry_f::kValue, value);
        external.push_back(entry.str());
      } while (accept(','));
      expect(']');
    }

    Message t;
    t.int64s_unpacked(tensor_f::kDims, dims);
    t.int64(tensor_f::kDataType, data_type);
    t.float32s_packed(tensor_f::kFloatData, floats);
    t.varints_packed(tensor_f::kInt32Data, int32s);
    t.strings(tensor_f::kStringData, strings);
    t.varints_packed(tensor_f::kInt64Data, int64s);
    t.bytes(tensor_f::kName, name);
    t.float64s_packed(tensor_f::kDoubleData, doubles);
    t.uint64s_packed(tensor_f::kUint64Data, uint64s);
    t.messages(tensor_f::kExternalData, external);
    if (is_external) t.int64(tensor_f::kDataLocation, tensor_f::kLocationExternal);
    return t.str();
  }

  // ---- attributes -----------------------------------------------------------

  AttrValue parse_single_attr_value(int expected) {
    AttrValue v;
    const size_t start = position();
    const int c = peek();
    if (is_ident_start(c)) {
      const std::string_view word = peek_identifier();
      if (next_is_type()) {
        const Type type = parse_type();
        const int next = peek();
        if (next == '{' || next == '=' || next == '"' || is_ident_start(next)) {
          std::string name;
          if (next == '"' || is_ident_start(next)) name = quotable_identifier("a tensor name");
          accept('=');
          v.type = kTensor;
          v.encoded = parse_tensor_data(name, type, start);
        } else {
          v.type = kTypeProto;
          v.encoded = type.encoded;
        }
      } else if (is_special_float_word(word)) {
        v.type = kFloat;
        v.f = to_real<float>(literal());
      } else {
        v.type = kGraph;
        v.encoded = parse_graph();
      }
    } else if (accept('@')) {
      v.ref = quotable_identifier("an attribute name");
      v.type = expected;
      return v;
    } else {
      const Literal lit = literal();
      switch (lit.kind) {
        case Literal::Kind::kString:
          v.type = kString;
          v.s = lit.text;
          break;
        case Literal::Kind::kFloat:
          v.type = kFloat;
          v.f = to_real<float>(lit);
          break;
        case Literal::Kind::kInt:
          if (expected == kFloat) {
            v.type = kFloat;
            v.f = to_real<float>(lit);
          } else {
            v.type = kInt;
            v.i = to_int64(lit);
          }
          break;
      }
    }
    if (expected != kUndefined && expected != v.type) {
      fail_at(start, std::string("attribute value of type '") + attr_type_name(v.type) +
                         "' does not match the declared type '" + attr_type_name(expected) + "'");
    }
    return v;
  }

  // The part after the attribute name: (':' type)? '=' value
  std::string parse_attribute_rest(const std::string& name) {
    int declared = kUndefined;
    if (accept(':')) {
      const size_t p = position();
      const std::string type_name = identifier("an attribute type");
      declared = lookup(kAttrTypeNames, type_name);
      if (declared == 0) fail_at(p, "unknown attribute type '" + type_name + "'");
    }
    expect('=');

    Message attr;
    attr.bytes(attr_f::kName, name);
    if (accept('[')) {
      int type = declared;
      std::vector<float> floats;
      std::vector<int64_t> ints;
      std::vector<std::string> strings, tensors, graphs, types;
      if (accept(']')) {
        if (declared == kUndefined) fail("an empty list attribute needs a type annotation, e.g. 'a: ints = []'");
        if (!is_list_attr_type(declared)) fail("attribute declared as a single value cannot be a list");
      } else {
        int element = element_attr_type(declared);
        do {
          const size_t p = position();
          AttrValue v = parse_single_attr_value(element);
          if (v.ref) fail_at(p, "an attribute reference cannot be a list element");
          element = v.type;
          switch (v.type) {
            case kFloat:
              floats.push_back(v.f);
              break;
            case kInt:
              ints.push_back(v.i);
              break;
            case kString:
              strings.push_back(std::move(v.s));
              break;
            case kTensor:
              tensors.push_back(std::move(v.encoded));
              break;
            case kGraph:
              graphs.push_back(std::move(v.encoded));
              break;
            case kTypeProto:
              types.push_back(std::move(v.encoded));
              break;
            default:
              fail_at(p, "unsupported list element");
          }
        } while (accept(','));
        expect(']');
        type = list_attr_type(element);
      }
      attr.float32s_unpacked(attr_f::kFloats, floats);
      attr.int64s_unpacked(attr_f::kInts, ints);
      attr.strings(attr_f::kStrings, strings);
      attr.messages(attr_f::kTensors, tensors);
      attr.messages(attr_f::kGraphs, graphs);
      attr.messages(attr_f::kTypeProtos, types);
      attr.int64(attr_f::kType, type);
      return attr.str();
    }

    const AttrValue v = parse_single_attr_value(declared);
    switch (v.type) {
      case kFloat:
        if (!v.ref) attr.float32(attr_f::kF, v.f);
        break;
      case kInt:
        if (!v.ref) attr.int64(attr_f::kI, v.i);
        break;
      case kString:
        if (!v.ref) attr.bytes(attr_f::kS, v.s);
        break;
      case kTensor:
        if (!v.ref) attr.message(attr_f::kT, v.encoded);
        break;
      case kGraph:
        if (!v.ref) attr.message(attr_f::kG, v.encoded);
        break;
      case kTypeProto:
        if (!v.ref) attr.message(attr_f::kTp, v.encoded);
        break;
      default:
        break;
    }
    if (v.type != kUndefined) attr.int64(attr_f::kType, v.type);
    if (v.ref) attr.bytes(attr_f::kRefAttrName, *v.ref);
    return attr.str();
  }

  // '<' attr (',' attr)* '>'
  std::vector<std::string> parse_attribute_list() {
    std::vector<std::string> attrs;
    expect('<');
    do {
      const std::string name = identifier("an attribute name");
      attrs.push_back(parse_attribute_rest(name));
    } while (accept(','));
    expect('>');
    return attrs;
  }

  // ---- nodes and graphs -----------------------------------------------------

  // Comma-separated value names, each possibly empty. An unquoted empty name
  // at the very end is dropped, so "()" is empty, "(x,)" is [x], "(,)" is [""]
  // and '("")' is [""].
  std::vector<std::string> parse_name_list() {
    std::vector<std::string> names;
    bool last_was_bare_empty = false;
    while (true) {
      if (peek() == '"') {
        names.push_back(string_literal());
        last_was_bare_empty = false;
      } else {
        names.push_back(optional_identifier());
        last_was_bare_empty = names.back().empty();
      }
      if (!accept(',')) break;
    }
    if (last_was_bare_empty) names.pop_back();
    return names;
  }

  std::string parse_node() {
    std::optional<std::string> label;
    if (accept('[')) {
      label = (peek() == '"') ? string_literal() : optional_identifier();
      expect(']');
    }
    const std::vector<std::string> outputs = parse_name_list();
    expect('=');
    std::string domain;
    std::string op = identifier("an operator name");
    while (accept('.')) {
      domain += domain.empty() ? op : "." + op;
      op = identifier("an operator name");
    }
    std::optional<std::string> overload;
    if (accept(':')) overload = identifier("an overload name");
    std::vector<std::string> attrs;
    if (peek() == '<') attrs = parse_attribute_list();
    expect('(');
    const std::vector<std::string> inputs = parse_name_list();
    expect(')');
    if (attrs.empty() && peek() == '<') attrs = parse_attribute_list();

    Message node;
    node.strings(node_f::kInput, inputs);
    node.strings(node_f::kOutput, outputs);
    if (label) node.bytes(node_f::kName, *label);
    node.bytes(node_f::kOpType, op);
    node.messages(node_f::kAttribute, attrs);
    node.bytes(node_f::kDomain, domain);
    if (overload) node.bytes(node_f::kOverload, *overload);
    return node.str();
  }

  std::vector<std::string> parse_node_list() {
    std::vector<std::string> nodes;
    expect('{');
    while (!accept('}')) {
      if (at_end()) fail("expected '}' to close the node list but found end of input");
      nodes.push_back(parse_node());
    }
    return nodes;
  }

  std::string parse_graph() {
    const std::string name = quotable_identifier("a graph name");
    std::vector<std::string> inputs, outputs, initializers, value_infos;

    if (accept('(')) {
      if (!accept(')')) {
        do {
          const size_t p = position();
          const ValueInfo vi = parse_value_info();
          inputs.push_back(vi.encode());
          if (accept('=')) initializers.push_back(parse_tensor_data(vi.name, vi.type, p));
        } while (accept(','));
        expect(')');
      }
    }
    expect_arrow();
    expect('(');
    if (!accept(')')) {
      do {
        outputs.push_back(parse_value_info().encode());
      } while (accept(','));
      expect(')');
    }
    if (accept('<')) {
      if (!accept('>')) {
        do {
          const size_t p = position();
          const ValueInfo vi = parse_value_info();
          if (accept('=')) {
            initializers.push_back(parse_tensor_data(vi.name, vi.type, p));
          } else {
            value_infos.push_back(vi.encode());
          }
        } while (accept(','));
        expect('>');
      }
    }
    const std::vector<std::string> nodes = parse_node_list();

    Message graph;
    graph.messages(graph_f::kNode, nodes);
    graph.bytes(graph_f::kName, name);
    graph.messages(graph_f::kInitializer, initializers);
    graph.messages(graph_f::kInput, inputs);
    graph.messages(graph_f::kOutput, outputs);
    graph.messages(graph_f::kValueInfo, value_infos);
    return graph.str();
  }

  // ---- model and function headers -------------------------------------------

  void parse_opset_list(std::vector<std::string>& out) {
    expect('[');
    if (accept(']')) return;
    do {
      const std::string domain = string_literal();
      expect(':');
      const int64_t version = to_int64(read_int_literal());
      Message opset;
      opset.bytes(opset_f::kDomain, domain).int64(opset_f::kVersion, version);
      out.push_back(opset.str());
    } while (accept(','));
    expect(']');
  }

  void parse_metadata_list(std::vector<std::string>& out) {
    expect('[');
    if (accept(']')) return;
    do {
      const std::string key = string_literal();
      expect(':');
      const std::string value = string_literal();
      Message entry;
      entry.bytes(entry_f::kKey, key).bytes(entry_f::kValue, value);
      out.push_back(entry.str());
    } while (accept(','));
    expect(']');
  }

  // Function inputs/outputs: names with optional types; typed ones also
  // become value_info entries.
  void parse_function_io(std::vector<std::string>& names, std::vector<std::string>& value_infos) {
    expect('(');
    if (accept(')')) return;
    do {
      const ValueInfo vi = parse_value_info();
      names.push_back(vi.name);
      if (vi.type) value_infos.push_back(vi.encode());
    } while (accept(','));
    expect(')');
  }

  std::string parse_function() {
    std::optional<std::string> domain, doc_string, overload;
    std::vector<std::string> opsets;
    if (accept('<')) {
      do {
        const size_t key_pos = position();
        const std::string key = identifier("a function property name");
        expect(':');
        if (key == "opset_import") {
          parse_opset_list(opsets);
        } else if (key == "domain") {
          domain = string_literal();
        } else if (key == "doc_string") {
          doc_string = string_literal();
        } else if (key == "overload") {
          overload = string_literal();
        } else {
          fail_at(key_pos, "unknown function property '" + key + "'");
        }
      } while (accept(','));
      expect('>');
    }
    const std::string name = quotable_identifier("a function name");

    std::vector<std::string> attribute_names, attribute_protos;
    if (accept('<')) {
      do {
        const std::string attr_name = quotable_identifier("an attribute name");
        const int next = peek();
        if (next == ':' || next == '=') {
          attribute_protos.push_back(parse_attribute_rest(attr_name));
        } else {
          attribute_names.push_back(attr_name);
        }
      } while (accept(','));
      expect('>');
    }

    std::vector<std::string> inputs, outputs, value_infos;
    parse_function_io(inputs, value_infos);
    expect_arrow();
    parse_function_io(outputs, value_infos);
    if (accept('<')) {
      if (!accept('>')) {
        do {
          value_infos.push_back(parse_value_info().encode());
        } while (accept(','));
        expect('>');
      }
    }
    const std::vector<std::string> nodes = parse_node_list();

    Message fn;
    fn.bytes(function_f::kName, name);
    fn.strings(function_f::kInput, inputs);
    fn.strings(function_f::kOutput, outputs);
    fn.strings(function_f::kAttribute, attribute_names);
    fn.messages(function_f::kNode, nodes);
    if (doc_string) fn.bytes(function_f::kDocString, *doc_string);
    fn.messages(function_f::kOpsetImport, opsets);
    if (domain) fn.bytes(function_f::kDomain, *domain);
    fn.messages(function_f::kAttributeProto, attribute_protos);
    fn.messages(function_f::kValueInfo, value_infos);
    if (overload) fn.bytes(function_f::kOverload, *overload);
    return fn.str();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string onnx_model_from_text(std::string_view text) { return Parser(text).parse_model(); }

}  // namespace modelcut::testing
