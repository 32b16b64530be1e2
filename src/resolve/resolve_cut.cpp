// Resolution of user-given names to cut values, and "did you mean" hints.
//
// A layer can be named by its full path ("sequential/fc2", "layer1.0.conv1"),
// by a trailing part of it ("fc2" for "sequential/fc2"), and, for Keras 3
// scopes where each call of a layer gets a numeric suffix ("fc2_1"), without
// that suffix. Full-path matches win over trailing-part matches, which win
// over suffix-stripped ones; two layers in the winning tier make the name
// ambiguous.
#include <algorithm>
#include <map>
#include <set>

#include "modelcut/error.h"
#include "modelcut/resolve.h"

namespace modelcut {
namespace {

std::string join(const std::vector<std::string>& parts, std::size_t begin, std::size_t end, char separator) {
  std::string text;
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin) text += separator;
    text += parts[i];
  }
  return text;
}

bool has_prefix(const std::vector<std::string>& scope, const std::vector<std::string>& prefix) {
  return scope.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), scope.begin());
}

// "fc2_1" -> "fc2"; names without a numeric suffix are returned unchanged.
std::string without_call_suffix(const std::string& component) {
  const auto underscore = component.rfind('_');
  if (underscore == std::string::npos || underscore + 1 == component.size()) return component;
  for (std::size_t i = underscore + 1; i < component.size(); ++i) {
    if (component[i] < '0' || component[i] > '9') return component;
  }
  return component.substr(0, underscore);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Distance of a candidate to what the user typed: the best of the whole name
// and its trailing parts, so "fc3" is close to "sequential/fc2".
std::size_t name_distance(const std::string& query, const std::string& candidate) {
  std::size_t best = edit_distance(query, candidate);
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    if (candidate[i] == '/' || candidate[i] == '.') {
      best = std::min(best, edit_distance(query, candidate.substr(i + 1)) + 1);
    }
  }
  return best;
}

}  // namespace

const char* to_string(CutPoint::Kind kind) {
  switch (kind) {
    case CutPoint::Kind::Tensor:
      return "tensor";
    case CutPoint::Kind::Node:
      return "node";
    case CutPoint::Kind::Layer:
      return "layer";
  }
  return "?";
}

LayerIndex::LayerIndex(const Dataflow& dataflow) {
  std::map<std::vector<std::string>, std::size_t> layer_by_path;
  // Names of layers with nodes of their own, joined both ways, so a weight
  // path that only spells one of them (or an ancestor of one) differently is
  // not taken for a fused layer: "encoder.layers.0" from a weight name is the
  // node scope "encoder/layers.0", not a layer of its own.
  std::set<std::string> primary_names;
  auto is_primary_or_ancestor = [&](const std::vector<std::string>& path) {
    for (char separator : {'.', '/'}) {
      const std::string name = join(path, 0, path.size(), separator);
      auto it = primary_names.lower_bound(name);
      if (it != primary_names.end() && (*it == name || it->compare(0, name.size() + 1, name + separator) == 0)) {
        return true;
      }
      // lower_bound finds the name itself first; a descendant may sort later.
      for (; it != primary_names.end() && it->compare(0, name.size(), name) == 0; ++it) {
        if (it->size() > name.size() && (*it)[name.size()] == separator) return true;
      }
    }
    return false;
  };
  auto add_to_layers = [&](NodeId id, const std::vector<std::string>& scope, bool fused) {
    for (std::size_t depth = 1; depth <= scope.size(); ++depth) {
      std::vector<std::string> path(scope.begin(), scope.begin() + static_cast<long>(depth));
      if (fused && is_primary_or_ancestor(path)) continue;
      if (!fused) {
        primary_names.insert(join(path, 0, path.size(), '.'));
        primary_names.insert(join(path, 0, path.size(), '/'));
      }
      auto [it, inserted] = layer_by_path.emplace(path, layers_.size());
      if (inserted) {
        Layer layer;
        layer.name = join(path, 0, path.size(), dataflow.scope_separator);
        layer.path = std::move(path);
        layer.fused = fused;
        layers_.push_back(std::move(layer));
      }
      Layer& layer = layers_[it->second];
      if (layer.fused == fused && (layer.nodes.empty() || layer.nodes.back() != id)) layer.nodes.push_back(id);
    }
  };
  for (NodeId id : dataflow.topological_order()) add_to_layers(id, dataflow.node(id).scope, false);
  for (NodeId id : dataflow.topological_order()) {
    for (const auto& scope : dataflow.node(id).weight_scopes) add_to_layers(id, scope, true);
  }
  for (Layer& layer : layers_) {
    const std::set<NodeId> members(layer.nodes.begin(), layer.nodes.end());
    layer.weights_only = !layer.nodes.empty() && std::all_of(layer.nodes.begin(), layer.nodes.end(),
                                                             [&](NodeId id) { return dataflow.node(id).is_constant; });
    for (NodeId id : layer.nodes) {
      const Node& node = dataflow.node(id);
      if (node.is_constant) continue;
      for (ValueId output : node.outputs) {
        const Value& value = dataflow.value(output);
        bool read_outside = value.is_graph_output;
        for (NodeId consumer : value.consumers) {
          const bool inside =
              layer.fused ? members.count(consumer) > 0 : has_prefix(dataflow.node(consumer).scope, layer.path);
          read_outside = read_outside || !inside;
        }
        if (read_outside) layer.outputs.push_back(output);
      }
    }
    // Only the layer whose own node holds the folded one: an enclosing layer
    // ends after the folded layer too, so its output is its own.
    for (ValueId output : layer.outputs) {
      const Node& producer = dataflow.node(dataflow.value(output).producer);
      if (!layer.fused && producer.folds_following_layer && producer.scope == layer.path) layer.folds_following = true;
    }
  }
}

std::vector<const Layer*> LayerIndex::match(const std::string& name) const {
  constexpr int kNoMatch = 99;
  // The best tier among layers with nodes of their own, and among fused ones.
  struct Best {
    int tier = kNoMatch;
    std::vector<const Layer*> layers;
  } primary, fused;
  for (const Layer& layer : layers_) {
    const auto& path = layer.path;
    std::vector<std::string> stripped;
    for (const auto& component : path) stripped.push_back(without_call_suffix(component));
    int tier = kNoMatch;
    for (std::size_t begin = 0; begin < path.size() && tier > 1; ++begin) {
      const int base = begin == 0 ? 0 : 1;
      for (char separator : {'/', '.'}) {
        if (join(path, begin, path.size(), separator) == name) tier = std::min(tier, base);
        if (join(stripped, begin, path.size(), separator) == name) tier = std::min(tier, base + 2);
      }
    }
    if (tier == kNoMatch) continue;
    Best& best = layer.fused ? fused : primary;
    if (tier < best.tier) {
      best.tier = tier;
      best.layers.clear();
    }
    if (tier == best.tier) best.layers.push_back(&layer);
  }
  // A layer with nodes of its own wins over any fused layer, whatever the
  // tiers: its own nodes are what the framework computes under that name,
  // while a fused layer's nodes compute more than it (the Conv a BatchNorm
  // was folded into).
  return primary.layers.empty() ? fused.layers : primary.layers;
}

std::vector<std::string> closest_names(const Dataflow& dataflow, const LayerIndex& layers, const std::string& name,
                                       std::size_t limit) {
  std::set<std::pair<std::size_t, std::string>> ranked;
  auto offer = [&](const std::string& candidate) {
    ranked.emplace(name_distance(name, candidate), candidate);
    if (ranked.size() > limit) ranked.erase(std::prev(ranked.end()));
  };
  for (const Layer& layer : layers.layers()) {
    if (!layer.fused) offer(layer.name);
  }
  for (const Node& node : dataflow.nodes()) offer(node.name);
  for (const Value& value : dataflow.values()) {
    if (value.kind != ValueKind::Constant) offer(value.name);
  }
  std::vector<std::string> names;
  for (const auto& entry : ranked) names.push_back(entry.second);
  return names;
}

namespace {

bool is_number(const std::string& text) {
  return !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
}

// For a layer name the model does not have, the reason an exporter may have
// left it out and, where the model shows it, the cut that gives the same
// values: in a numbered container ("classifier.2" in "classifier"), the
// nearest layer before it. Empty when the name's parent is not a layer (a
// misspelt path, rather than a dropped layer).
std::string dropped_layer_hint(const LayerIndex& layers, const std::string& name) {
  const std::size_t split = name.find_last_of("./");
  const std::string explanation =
      "; if it is a layer of the model, the exporter left it out: exporters drop layers that compute nothing at "
      "inference (Dropout, Identity), compute ahead of time those that depend on no input, and fold some into the "
      "layer before them (BatchNorm into Conv)";
  if (split == std::string::npos) return explanation;
  const auto parents = layers.match(name.substr(0, split));
  if (parents.size() != 1 || parents.front()->fused) return {};
  const Layer& parent = *parents.front();
  const std::string last = name.substr(split + 1);
  const Layer* before = nullptr;
  long before_index = -1;
  if (is_number(last)) {
    const long index = std::stol(last);
    for (const Layer& layer : layers.layers()) {
      if (layer.path.size() != parent.path.size() + 1 || !has_prefix(layer.path, parent.path)) continue;
      if (!is_number(layer.path.back()) || layer.outputs.empty()) continue;
      const long sibling = std::stol(layer.path.back());
      if (sibling < index && sibling > before_index) {
        before = &layer;
        before_index = sibling;
      }
    }
  }
  if (before == nullptr) return explanation;
  return explanation + ", so cutting at " + quoted(before->name) + " gives the same values";
}

[[noreturn]] void fail_unknown(const Dataflow& dataflow, const LayerIndex& layers, const std::string& what,
                               const std::string& name) {
  std::string hint;
  for (const std::string& candidate : closest_names(dataflow, layers, name)) {
    hint += hint.empty() ? "; did you mean " : ", ";
    hint += quoted(candidate);
  }
  const std::string dropped = what == "tensor" || what == "node" ? "" : dropped_layer_hint(layers, name);
  fail("no ", what, " named ", quoted(name), " in the model", dropped, hint, hint.empty() ? "" : "?");
}

CutPoint cut_at_layer(const Layer& layer, const std::string& spec) {
  CutPoint cut;
  cut.spec = spec;
  cut.kind = CutPoint::Kind::Layer;
  cut.resolved_name = layer.name;
  if (layer.fused) cut.resolved_name += " (fused by the exporter into the nodes reading its weights)";
  if (layer.folds_following) {
    cut.resolved_name +=
        " (the exporter folded the layer after it, such as a BatchNorm, into it: the cut gives "
        "that layer's output)";
  }
  cut.values = layer.outputs;
  if (cut.values.empty() && layer.weights_only) {
    fail("layer ", quoted(layer.name),
         " computes only from the model's stored weights: its output is the same for every input, so each part "
         "that reads it computes its own copy and nothing of it crosses a cut; cut at a layer that reads the input");
  }
  if (cut.values.empty()) fail("layer ", quoted(layer.name), " has no output that anything reads");
  return cut;
}

// The dynamo exporter names values after FX nodes, so a top-level module
// `relu` and the value `relu` can share a name. Where they are the same cut
// nothing is lost; where they differ, taking either silently could give the
// user the wrong boundary, so the name must say which it means.
void refuse_clash_with_layer(const LayerIndex& layers, const std::string& name, const CutPoint& cut) {
  for (const Layer* layer : layers.match(name)) {
    if (layer->fused || layer->name != name || layer->outputs == cut.values) continue;
    const char* what = cut.kind == CutPoint::Kind::Tensor ? "tensor" : "node";
    fail("the name ", quoted(name), " is both a ", what, " and a layer, and they end at different values; write ",
         quoted(std::string(what) + ":" + name), " or ", quoted("layer:" + name), " to say which");
  }
}

}  // namespace

namespace {

// "tensors:a,b,c": a cut after several values at once, as a planner finds
// them where more than one value crosses. The names are split at every ',';
// a value whose name has a ',' in it cannot be named this way.
CutPoint cut_at_tensors(const Dataflow& dataflow, const LayerIndex& layers, const std::string& spec,
                        const std::string& list) {
  CutPoint cut;
  cut.spec = spec;
  cut.kind = CutPoint::Kind::Tensor;
  cut.resolved_name = list;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = std::min(list.find(',', begin), list.size());
    const std::string name = list.substr(begin, end - begin);
    if (name.empty()) {
      fail("empty tensor name in ", quoted(spec), ": write the names separated by single commas");
    }
    const auto value = dataflow.find_value(name);
    if (!value) {
      std::string hint;
      for (const std::string& candidate : closest_names(dataflow, layers, name)) {
        hint += hint.empty() ? "; did you mean " : ", ";
        hint += quoted(candidate);
      }
      fail("no tensor named ", quoted(name), " in the model (from ", quoted(spec),
           "; names in a tensors: list are separated by ',')", hint, hint.empty() ? "" : "?");
    }
    if (std::find(cut.values.begin(), cut.values.end(), *value) != cut.values.end()) {
      fail("the cut ", quoted(spec), " names the tensor ", quoted(name), " twice");
    }
    cut.values.push_back(*value);
    if (end == list.size()) break;
    begin = end + 1;
  }
  return cut;
}

}  // namespace

CutPoint resolve_cut(const Dataflow& dataflow, const LayerIndex& layers, const std::string& spec) {
  const std::string tensors = "tensors:";
  if (spec.compare(0, tensors.size(), tensors) == 0) {
    return cut_at_tensors(dataflow, layers, spec, spec.substr(tensors.size()));
  }
  std::string kind;
  std::string name = spec;
  for (const char* prefix : {"tensor:", "node:", "layer:"}) {
    const std::string text = prefix;
    if (spec.compare(0, text.size(), text) == 0) {
      kind = text.substr(0, text.size() - 1);
      name = spec.substr(text.size());
    }
  }
  if (name.empty()) fail("empty cut name ", quoted(spec));

  CutPoint cut;
  cut.spec = spec;
  cut.resolved_name = name;
  if (kind.empty() || kind == "tensor") {
    if (auto value = dataflow.find_value(name)) {
      cut.kind = CutPoint::Kind::Tensor;
      cut.values = {*value};
      if (kind.empty()) refuse_clash_with_layer(layers, name, cut);
      return cut;
    }
    if (kind == "tensor") fail_unknown(dataflow, layers, "tensor", name);
  }
  if (kind.empty() || kind == "node") {
    if (auto node = dataflow.find_node(name)) {
      cut.kind = CutPoint::Kind::Node;
      cut.values = dataflow.node(*node).outputs;
      if (kind.empty()) refuse_clash_with_layer(layers, name, cut);
      return cut;
    }
    if (kind == "node") fail_unknown(dataflow, layers, "node", name);
  }
  const auto matches = layers.match(name);
  if (matches.size() == 1) return cut_at_layer(*matches.front(), spec);
  if (matches.empty()) fail_unknown(dataflow, layers, kind.empty() ? "tensor, node or layer" : "layer", name);
  std::string names;
  for (std::size_t i = 0; i < matches.size() && i < 5; ++i) {
    names += (i ? ", " : "") + quoted(matches[i]->name);
  }
  if (matches.size() > 5) names += ", ...";
  fail("the name ", quoted(name), " matches ", matches.size(), " layers (", names,
       "); give the full path of the one you mean");
}

}  // namespace modelcut
