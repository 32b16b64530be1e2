// `modelcut inspect MODEL`: cli.py's cmd_inspect, the report of the core's
// inspect_model as text or JSON. Types of ONNX values come from the core's
// own propagation (the Python command adds ONNX shape inference's).
#include <algorithm>
#include <climits>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "cli/python_text.h"
#include "modelcut/modelcut.h"

namespace modelcut::cli {
namespace {

std::string domain_name(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

Json to_json(const InspectReport& report) {
  Json opsets = Json::object();
  for (const auto& [domain, version] : report.opsets) opsets.set(domain_name(domain), Json(std::int64_t{version}));
  Json layers = Json::array();
  for (const LayerSummary& layer : report.layers) {
    layers.push(Json::object()
                    .set("name", layer.name)
                    .set("depth", std::uint64_t{layer.depth})
                    .set("nodes", std::uint64_t{layer.node_count})
                    .set("outputs", value_list(layer.outputs)));
  }
  Json points = Json::array();
  for (const CutCandidate& point : report.cut_points) {
    points.push(Json::object()
                    .set("value", value_json(point.value))
                    .set("layer", point.layer)
                    .set("passed_through", point.passed_through)
                    .set("crossing_bytes", point.bytes_known ? Json(point.crossing_bytes) : Json::null()));
  }
  return Json::object()
      .set("path", report.path)
      .set("format", report.format)
      .set("producer", report.producer)
      .set("ir_version", Json(std::int64_t{report.ir_version}))
      .set("format_version", Json(std::int64_t{report.ir_version}))  // the same, named for every format
      .set("opsets", std::move(opsets))
      .set("nodes", std::uint64_t{report.node_count})
      .set("initializers", std::uint64_t{report.initializer_count})
      .set("inputs", value_list(report.inputs))
      .set("outputs", value_list(report.outputs))
      .set("layers", std::move(layers))
      .set("cut_points", std::move(points));
}

// --depth as Python's int(): any whole number; beyond 64 bits it makes no
// difference to which layers are listed.
long long parse_depth(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c != '_' && c != ' ' && c != '\t' && c != '\n') digits += c;
  }
  errno = 0;
  const long long depth = std::strtoll(digits.c_str(), nullptr, 10);
  return depth;  // saturates at LLONG_MIN/LLONG_MAX on overflow
}

}  // namespace

const CommandSpec& inspect_spec() {
  static const CommandSpec spec{
      "inspect",
      "list layers and candidate cut points",
      "",
      {{"model", "MODEL", false, ""}},
      {
          {{"--depth"}, "depth", OptionSpec::Kind::Value, "DEPTH", "deepest layer level to list (default 2)", {}, true},
          signature_option(),
          {{"--json"}, "json", OptionSpec::Kind::Flag, "", "print everything as JSON"},
          debug_option(),
      }};
  return spec;
}

int run_inspect(const Arguments& arguments, Output& output) {
  const std::string model = *arguments.value("model");
  const std::string depth_text = arguments.value("depth").value_or("2");
  hand_over_saved_model(model);
  check_input_file(model);
  const InspectReport report = inspect_model(model);
  if (arguments.flag("json")) {
    output.line(to_json(report).dump());
    return 0;
  }
  auto say = [&](const std::string& line) { output.line(printable(line)); };
  const std::string producer = report.producer.empty() ? "?" : report.producer;
  if (report.format == "keras") {
    say(report.path + ": " + std::to_string(report.node_count) + " layer calls, " +
        std::to_string(report.initializer_count) + " weight arrays, saved by " + producer);
  } else if (report.format == "tf-graphdef") {
    const std::string version = report.ir_version == 0 ? "?" : std::to_string(report.ir_version);
    say(report.path + ": TensorFlow GraphDef, " + std::to_string(report.node_count) + " nodes, " +
        std::to_string(report.initializer_count) + " Const weights, producer version " + version);
  } else {
    // A Python dict: a domain listed twice keeps its first place and last version.
    std::vector<std::pair<std::string, std::int64_t>> opsets;
    for (const auto& [domain, version] : report.opsets) {
      const std::string name = domain_name(domain);
      auto found = std::find_if(opsets.begin(), opsets.end(), [&](const auto& entry) { return entry.first == name; });
      if (found == opsets.end()) {
        opsets.emplace_back(name, version);
      } else {
        found->second = version;
      }
    }
    std::string opset_text;
    for (const auto& [name, version] : opsets) {
      opset_text += (opset_text.empty() ? "" : ", ") + name + " " + std::to_string(version);
    }
    say(report.path + ": " + std::to_string(report.node_count) + " nodes, " + std::to_string(report.initializer_count) +
        " initializers, ir_version " + std::to_string(report.ir_version) + ", opsets " + opset_text + ", producer " +
        producer);
  }
  for (const ValueSummary& value : report.inputs) say("  input  " + value.name + "  " + value.type);
  for (const ValueSummary& value : report.outputs) say("  output " + value.name + "  " + value.type);
  const long long depth = parse_depth(depth_text);
  std::vector<const LayerSummary*> layers;
  for (const LayerSummary& layer : report.layers) {
    if (static_cast<long long>(layer.depth) <= depth) layers.push_back(&layer);
  }
  output.line(layers.empty() ? "\nno layer scopes found"
                             : "\nlayers (depth <= " + std::to_string(depth) + "; --depth N for more):");
  for (const LayerSummary* layer : layers) {
    std::string outputs;
    for (const ValueSummary& value : layer->outputs) {
      outputs += (outputs.empty() ? "" : ", ") + value.name + " " + value.type;
    }
    std::string indent;
    for (std::size_t level = 1; level < layer->depth; ++level) indent += "  ";
    say("  " + indent + layer->name + "  -> " + outputs);
  }
  output.line("\ncut points (one computed tensor crosses; bytes per batch item): " +
              std::to_string(report.cut_points.size()));
  for (const CutCandidate& point : report.cut_points) {
    std::string passed;
    for (const std::string& name : point.passed_through) passed += (passed.empty() ? " + " : ", ") + name;
    const std::string layer = point.layer.empty() ? "" : "  [" + point.layer + "]";
    const auto bytes = point.bytes_known ? std::optional<std::uint64_t>(point.crossing_bytes) : std::nullopt;
    say("  " + point.value.name + "  " + point.value.type + "  " + format_bytes(bytes) + passed + layer);
  }
  return 0;
}

}  // namespace modelcut::cli
