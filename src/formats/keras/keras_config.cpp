// Reading a Keras model config (see keras_config.h): the tensor references
// of inbound nodes in both dialects (Keras 3 "__keras_tensor__" objects,
// tf-keras [layer, node, tensor, kwargs] lists), layer kinds and names, and
// JSON parsing with limits.
#include "keras_config.h"

#include "formats/dtypes.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace {

constexpr const char* kConstantValue = "_CONSTANT_VALUE";

void push_ref(NodeRefs& out, Json* ref, const Json* tensor, bool positional) {
  out.refs.push_back(ref);
  out.tensors.push_back(tensor);
  out.positional.push_back(positional);
}

void walk_keras3(Json& json, bool positional, NodeRefs& out) {
  if (json.is_array()) {
    for (Json& element : json) walk_keras3(element, positional, out);
    return;
  }
  if (!json.is_object()) return;
  const std::string class_name = string_or(json, "class_name");
  if (class_name == "__keras_tensor__") {
    auto config = json.find("config");
    if (config == json.end() || !config->is_object() || !config->contains("keras_history") ||
        !is_ref_list((*config)["keras_history"])) {
      fail("a tensor reference in the config has no valid keras_history");
    }
    push_ref(out, &(*config)["keras_history"], &json, positional);
    return;
  }
  if (class_name == "__tuple__") {
    auto config = json.find("config");
    if (config != json.end() && config->is_object() && config->contains("value")) {
      walk_keras3((*config)["value"], positional, out);
    }
    return;
  }
  for_each_sorted(json, [&](Json& value) { walk_keras3(value, positional, out); });
}

void walk_legacy_kwargs(Json& json, NodeRefs& out) {
  if (is_ref_list(json) && json.size() == 3) {
    push_ref(out, &json, nullptr, false);
  } else if (json.is_array()) {
    for (Json& element : json) walk_legacy_kwargs(element, out);
  } else if (json.is_object()) {
    for_each_sorted(json, [&](Json& value) { walk_legacy_kwargs(value, out); });
  }
}

// The first argument of a tf-keras call: [layer, node, tensor, kwargs]
// entries, possibly nested; the kwargs of the last entry are the call's.
void walk_legacy(Json& json, NodeRefs& out, std::pair<std::size_t, std::size_t>& last_kwargs) {
  const bool constant =
      json.is_array() && json.size() == 4 && json[0].is_string() && json[0].get<std::string>() == kConstantValue;
  if (is_ref_list(json) || constant) {
    if (!constant) push_ref(out, &json, nullptr, true);
    if (json.size() == 4) {
      const std::size_t begin = out.refs.size();
      walk_legacy_kwargs(json[3], out);
      last_kwargs = {begin, out.refs.size()};
    }
    return;
  }
  if (json.is_array()) {
    for (Json& element : json) walk_legacy(element, out, last_kwargs);
  } else if (json.is_object()) {
    for_each_sorted(json, [&](Json& value) { walk_legacy(value, out, last_kwargs); });
  }
}

}  // namespace

bool is_ref_list(const Json& json) {
  return json.is_array() && (json.size() == 3 || json.size() == 4) && json[0].is_string() &&
         json[1].is_number_integer() && json[2].is_number_integer() && json[0].get<std::string>() != kConstantValue;
}

std::string string_or(const Json& json, const char* key, const std::string& fallback) {
  if (!json.is_object()) return fallback;
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Kind kind_of(const Json& entry) {
  const std::string class_name = string_or(entry, "class_name");
  if (class_name == "InputLayer") return Kind::Input;
  const Json* config = entry.contains("config") ? &entry["config"] : nullptr;
  if (config == nullptr || !config->is_object()) return Kind::Layer;
  const bool has_layers = config->contains("layers") && (*config)["layers"].is_array();
  if (class_name == "Sequential" && has_layers) return Kind::Sequential;
  if ((class_name == "Functional" || class_name == "Model") && has_layers && config->contains("input_layers") &&
      config->contains("output_layers")) {
    return Kind::Functional;
  }
  return Kind::Layer;
}

std::string entry_name(const Json& entry) {
  std::string name = string_or(entry, "name");
  if (name.empty() && entry.contains("config")) name = string_or(entry["config"], "name");
  return name;
}

void check_layer_entries(const Json& model_entry, const std::string& where) {
  for (const Json& entry : model_entry["config"]["layers"]) {
    if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() ||
        !entry.contains("config") || !entry["config"].is_object()) {
      fail(where, ": a layer entry of model ", quoted(string_or(model_entry["config"], "name", "?")),
           " lacks a class_name or a config");
    }
    if (entry.contains("inbound_nodes") && !entry["inbound_nodes"].is_array()) {
      fail(where, ": the inbound_nodes of layer ", quoted(string_or(entry["config"], "name", "?")), " are not a list");
    }
  }
}

bool is_operation(const Json& entry) { return string_or(entry, "module").rfind("keras.src.ops", 0) == 0; }

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? std::string(1, separator) : "") + parts[i];
  return text;
}

bool parse_shape(const Json& json, std::vector<std::int64_t>& dims) {
  constexpr std::size_t kMaxRank = 32;
  constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;
  if (!json.is_array() || json.size() > kMaxRank) return false;
  dims.clear();
  for (const Json& dim : json) {
    if (dim.is_null()) {
      dims.push_back(-1);
    } else if (dim.is_number_unsigned() && dim.get<std::uint64_t>() < static_cast<std::uint64_t>(kMaxDim)) {
      dims.push_back(dim.get<std::int64_t>());
    } else if (dim.is_number_integer() && !dim.is_number_unsigned() && dim.get<std::int64_t>() >= 0 &&
               dim.get<std::int64_t>() < kMaxDim) {
      dims.push_back(dim.get<std::int64_t>());
    } else {
      return false;
    }
  }
  return true;
}

std::string input_dtype(const Json& config) {
  const Json* dtype = config.contains("dtype") ? &config["dtype"] : nullptr;
  if (dtype == nullptr || dtype->is_null()) return "float32";
  return compute_dtype(config);
}

// nlohmann's parser itself is iterative, but the walks over the result
// recurse, and a few bytes of "[[[[" cost far more once parsed.
Json parse_json(const std::string& text, const std::string& what, const std::string& origin) {
  std::size_t values = 0;
  const Json::parser_callback_t limit = [&](int depth, Json::parse_event_t event, Json&) {
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) {
      if (depth >= kMaxJsonDepth) fail(quoted(origin), ": ", what, " is nested more than ", kMaxJsonDepth, " deep");
    }
    if (event == Json::parse_event_t::value && ++values > kMaxJsonValues) {
      fail(quoted(origin), ": ", what, " holds more than ", kMaxJsonValues, " values");
    }
    return true;
  };
  try {
    return Json::parse(text, limit);
  } catch (const Json::exception& error) {
    fail(quoted(origin), ": ", what, " is not valid JSON (", error.what(), ")");
  }
}

int major_version(const std::string& version) {
  try {
    return version.empty() ? 0 : std::stoi(version);
  } catch (...) {
    return 0;
  }
}

bool has_keras3_nodes(const Json& model_entry) {
  if (!model_entry.contains("config") || !model_entry["config"].is_object() ||
      !model_entry["config"].contains("layers") || !model_entry["config"]["layers"].is_array()) {
    return false;
  }
  for (const Json& entry : model_entry["config"]["layers"]) {
    if (entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array()) {
      for (const Json& node : entry["inbound_nodes"]) {
        if (node.is_object()) return true;
      }
    }
    if (has_keras3_nodes(entry)) return true;
  }
  return false;
}

std::vector<Json*> structure_refs(Json& structure) {
  std::vector<Json*> refs;
  if (is_ref_list(structure) && structure.size() == 3) {
    refs.push_back(&structure);
  } else if (structure.is_array()) {
    for (Json& element : structure) {
      auto inner = structure_refs(element);
      refs.insert(refs.end(), inner.begin(), inner.end());
    }
  } else if (structure.is_object()) {
    for_each_sorted(structure, [&](Json& value) {
      auto inner = structure_refs(value);
      refs.insert(refs.end(), inner.begin(), inner.end());
    });
  }
  return refs;
}

NodeRefs node_refs(Json& node_data, bool keras3) {
  NodeRefs out;
  if (keras3 && node_data.is_object()) {
    if (node_data.contains("args")) walk_keras3(node_data["args"], true, out);
    if (node_data.contains("kwargs")) walk_keras3(node_data["kwargs"], false, out);
    for (std::size_t i = 0; i < out.refs.size(); ++i) out.flat_order.push_back(i);
    return out;
  }
  std::pair<std::size_t, std::size_t> last_kwargs{0, 0};
  walk_legacy(node_data, out, last_kwargs);
  for (std::size_t i = 0; i < out.refs.size(); ++i) {
    if (out.positional[i]) out.flat_order.push_back(i);
  }
  for (std::size_t i = last_kwargs.first; i < last_kwargs.second; ++i) out.flat_order.push_back(i);
  return out;
}

// The three substitutions of Keras's to_snake_case (drop non-word
// characters; "(.)([A-Z][a-z]+)" -> "\\1_\\2"; "([a-z])([A-Z])" -> "\\1_\\2";
// lower case), written as linear scans: std::regex recurses per character
// and overflows the stack on a long class name.
std::string snake_case(const std::string& class_name) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string word;
  for (char c : class_name) {
    if (is_upper(c) || is_lower(c) || (c >= '0' && c <= '9') || c == '_') word += c;
  }
  std::string split;  // "(.)([A-Z][a-z]+)": leftmost matches, each consuming its run of lower-case letters
  for (std::size_t i = 0; i < word.size();) {
    if (i + 2 < word.size() && is_upper(word[i + 1]) && is_lower(word[i + 2])) {
      std::size_t end = i + 3;
      while (end < word.size() && is_lower(word[end])) ++end;
      split += word[i];
      split += '_';
      split.append(word, i + 1, end - i - 1);
      i = end;
    } else {
      split += word[i++];
    }
  }
  std::string name;  // "([a-z])([A-Z])"
  for (std::size_t i = 0; i < split.size();) {
    if (i + 1 < split.size() && is_lower(split[i]) && is_upper(split[i + 1])) {
      name += split[i];
      name += '_';
      name += split[i + 1];
      i += 2;
    } else {
      name += split[i++];
    }
  }
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

}  // namespace modelcut::keras
