// Kinds of TensorFlow ops that the shape propagation (tf_shapes.cpp) and
// the cost tables (tf_costs.cpp) both need: one list each, so that an op
// added for one is known to the other.
#pragma once

#include <set>
#include <string>

namespace modelcut::tf {

// One output element per input element, output shaped as input 0 (Relu,
// Sqrt, IsNan, ...).
const std::set<std::string>& unary_elementwise_ops();

// Two inputs broadcast against each other as numpy does (Add, Mul, Less, ...).
const std::set<std::string>& broadcasting_binary_ops();

}  // namespace modelcut::tf
