// Tests of the one element-type table (formats/dtypes.h): every ONNX code
// round-trips through its name, sizes are those of the ONNX spec, and Keras
// names reach the same sizes as the ONNX names of the same types.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "formats/dtypes.h"

namespace modelcut::test {
namespace {

TEST(Dtypes, OnnxNamesAndSizes) {
  EXPECT_EQ(dtype_name(1), "float32");
  EXPECT_EQ(element_bits_of(1), 32);
  EXPECT_EQ(dtype_name(7), "int64");
  EXPECT_EQ(element_bits_of(7), 64);
  EXPECT_EQ(dtype_name(8), "string");
  EXPECT_EQ(element_bits_of(8), 0);
  EXPECT_EQ(dtype_name(16), "bfloat16");
  EXPECT_EQ(dtype_name(17), "float8e4m3fn");
  EXPECT_EQ(element_bits_of(22), 4);  // int4
  EXPECT_EQ(element_bits_of(26), 2);  // int2
  EXPECT_EQ(element_bits_of(28), 6);  // float6e3m2
}

TEST(Dtypes, UnknownCodes) {
  EXPECT_EQ(dtype_name(0), "undefined");
  EXPECT_EQ(dtype_name(29), "type29");
  EXPECT_EQ(dtype_name(-3), "type-3");
  EXPECT_EQ(element_bits_of(29), 0);
  EXPECT_EQ(element_bits_of(-1), 0);
  EXPECT_EQ(data_type_code("undefined"), 0);
  EXPECT_EQ(data_type_code("type29"), 0);
  EXPECT_EQ(data_type_code("float"), 0);
}

TEST(Dtypes, EveryCodeRoundTripsThroughItsName) {
  for (int code = 1; code <= 28; ++code) EXPECT_EQ(data_type_code(dtype_name(code)), code) << code;
}

TEST(Dtypes, KerasNames) {
  EXPECT_EQ(keras_dtype_bits("float32"), 32);
  EXPECT_EQ(keras_dtype_bits("bool"), 8);
  EXPECT_EQ(keras_dtype_bits("complex128"), 128);
  EXPECT_EQ(keras_dtype_bits("float8_e4m3fn"), 8);
  EXPECT_EQ(keras_dtype_bits("float8_e5m2"), 8);
  // ONNX's spelling of float8 is not Keras's; strings have no fixed size.
  EXPECT_EQ(keras_dtype_bits("float8e4m3fn"), 0);
  EXPECT_EQ(keras_dtype_bits("string"), 0);
  EXPECT_EQ(keras_dtype_bits("mixed_float16"), 0);
  EXPECT_EQ(keras_dtype_bits(""), 0);
  // Wherever both spell a type alike, the sizes agree.
  for (int code = 1; code <= 28; ++code) {
    const int bits = keras_dtype_bits(dtype_name(code));
    if (bits != 0) EXPECT_EQ(bits, element_bits_of(code)) << dtype_name(code);
  }
}

TEST(Dtypes, KerasSizesAreThoseOfTheKerasAdaptersOwnMap) {
  // The Keras adapter's dtype_bits map before the table replaced it.
  const std::map<std::string, int> before = {
      {"float16", 16}, {"bfloat16", 16},  {"float32", 32},     {"float64", 64},      {"int8", 8},       {"int16", 16},
      {"int32", 32},   {"int64", 64},     {"uint8", 8},        {"uint16", 16},       {"uint32", 32},    {"uint64", 64},
      {"bool", 8},     {"complex64", 64}, {"complex128", 128}, {"float8_e4m3fn", 8}, {"float8_e5m2", 8}};
  for (const auto& [name, bits] : before) EXPECT_EQ(keras_dtype_bits(name), bits) << name;
  for (int code = 0; code <= 30; ++code) {
    const std::string name = dtype_name(code);
    EXPECT_EQ(keras_dtype_bits(name), before.count(name) ? before.at(name) : 0) << name;
  }
}

}  // namespace
}  // namespace modelcut::test
