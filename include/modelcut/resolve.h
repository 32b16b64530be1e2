// Resolving a cut given by name (a tensor, a node, or a layer as the user's
// framework calls it) to the values that the cut separates.
//
// Layers come from node scopes (see Dataflow::Node::scope): every scope prefix
// is a layer. A layer's outputs are the values its nodes produce that are read
// outside it or are graph outputs. Format-neutral: naming conventions of
// exporters are turned into scopes by the format adapters.
#pragma once

#include <string>
#include <vector>

#include "modelcut/dataflow.h"

namespace modelcut {

struct Layer {
  std::vector<std::string> path;  // scope components, outermost first
  std::string name;               // path joined with the dataflow's separator
  std::vector<NodeId> nodes;      // in topological order
  std::vector<ValueId> outputs;   // in topological order of their producers
  // Known only from weight names: the exporter fused this layer into the
  // nodes that read its weights (see Node::weight_scopes).
  bool fused = false;
  // Its output is computed by a node into which the exporter folded the layer
  // after it (see Node::folds_following_layer): a cut here gives that
  // following layer's output.
  bool folds_following = false;
  // Every node of it computes from stored weights alone (a position
  // embedding looked up at fixed positions): its output is the same for every
  // input, and each part that reads it computes its own copy.
  bool weights_only = false;
};

// All layers of a dataflow, outermost first, in the order of their first node.
class LayerIndex {
 public:
  explicit LayerIndex(const Dataflow& dataflow);
  const std::vector<Layer>& layers() const { return layers_; }
  // Layers a user's name may refer to, best match tier only (several means
  // the name is ambiguous). A name that matches a layer with nodes of its own
  // (in any tier) always means that layer: fused layers, known only from
  // weight names, are considered only when no such layer matches, and no
  // fused layer is ever made for a path that has nodes of its own.
  std::vector<const Layer*> match(const std::string& name) const;

 private:
  std::vector<Layer> layers_;
};

struct CutPoint {
  enum class Kind { Tensor, Node, Layer };
  std::string spec;  // what the user wrote
  Kind kind = Kind::Tensor;
  std::string resolved_name;    // the tensor, node or layer it matched
  std::vector<ValueId> values;  // the values the cut is placed after
};

const char* to_string(CutPoint::Kind kind);

// Resolves one name. The name may be prefixed with "tensor:", "node:" or
// "layer:" to say what it names; otherwise a tensor name is tried first, then
// a node name, then a layer name. "tensors:a,b,c" names several tensors at
// once (the cut is placed after all of them, their values in that order;
// the plans write such cuts where several values cross): each name must be
// a tensor of the model, and names are split at every ','. Throws Error for an unknown or ambiguous name,
// listing the closest candidates. For an unknown layer the message also says
// that exporters drop layers that compute nothing at inference, and names the
// cut that gives the same values where the model shows one (the layer before
// it in the same numbered container: "classifier.1" for "classifier.2").
CutPoint resolve_cut(const Dataflow& dataflow, const LayerIndex& layers, const std::string& spec);

// Up to `limit` names of tensors, nodes and layers closest to `name`.
std::vector<std::string> closest_names(const Dataflow& dataflow, const LayerIndex& layers, const std::string& name,
                                       std::size_t limit = 5);

}  // namespace modelcut
