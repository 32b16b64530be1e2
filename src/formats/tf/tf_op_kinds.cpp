// See tf_op_kinds.h.
#include "tf_op_kinds.h"

namespace modelcut::tf {

const std::set<std::string>& unary_elementwise_ops() {
  static const std::set<std::string> ops = {
      "Relu",       "Relu6", "Elu",   "Selu",     "LeakyRelu",  "Sigmoid",     "Tanh", "Softplus", "Softsign",
      "Neg",        "Abs",   "Exp",   "Expm1",    "Log",        "Log1p",       "Sqrt", "Rsqrt",    "Square",
      "Reciprocal", "Floor", "Ceil",  "Round",    "Sign",       "Sin",         "Cos",  "Tan",      "Erf",
      "Erfc",       "IsNan", "IsInf", "IsFinite", "LogicalNot", "ClipByValue", "Inv",  "Rint",     "Gelu"};
  return ops;
}

const std::set<std::string>& broadcasting_binary_ops() {
  static const std::set<std::string> ops = {
      "Add",       "AddV2",   "Sub",          "Mul",        "RealDiv",           "Div",      "DivNoNan",    "FloorDiv",
      "FloorMod",  "Maximum", "Minimum",      "Pow",        "SquaredDifference", "Equal",    "NotEqual",    "Less",
      "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",         "MulNoNan", "TruncateDiv", "Atan2",
      "BiasAddV1"};
  return ops;
}

}  // namespace modelcut::tf
