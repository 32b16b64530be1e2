// `modelcut split MODEL --at NAME ... -o DIR`: cli.py's cmd_split. ONNX
// models are cut with the core's own type propagation where the Python
// command first runs ONNX shape inference (api.inferred_types); the parts
// differ only where the two disagree (tests/native/test_same_parts.py).
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "cli/progress.h"
#include "cli/python_text.h"
#include "modelcut/file_type.h"
#include "modelcut/plan.h"
#include "util/output_files.h"

namespace modelcut::cli {
namespace {

WeightMode weight_mode(const std::string& name) {
  if (name == "inline") return WeightMode::Inline;
  if (name == "external") return WeightMode::External;
  if (name == "in-place") return WeightMode::InPlace;
  return WeightMode::Auto;
}

}  // namespace

Json split_json(const SplitResult& result) {
  Json cuts = Json::array();
  for (const CutSummary& cut : result.cuts) {
    cuts.push(Json::object()
                  .set("spec", cut.spec)
                  .set("kind", cut.kind)
                  .set("resolved_name", cut.resolved_name)
                  .set("values", cut.values));
  }
  Json parts = Json::array();
  for (const PartSummary& part : result.parts) {
    parts.push(Json::object()
                   .set("path", part.path.string())
                   .set("nodes", std::uint64_t{part.node_count})
                   .set("initializers", std::uint64_t{part.initializer_count})
                   .set("inputs", value_list(part.inputs))
                   .set("outputs", value_list(part.outputs)));
  }
  return Json::object().set("cuts", std::move(cuts)).set("parts", std::move(parts));
}

const CommandSpec& split_spec() {
  static const CommandSpec spec{
      "split",
      "cut a model into parts",
      "where to cut: a tensor name (\"/fc2/Gemm_output_0\", \"model/fc2/BiasAdd:0\"),\n"
      "a node name, or a layer as your framework calls it (\"fc2\", \"layer3.1\",\n"
      "\"block_6_expand\"). Prefix with tensor:, node: or layer: to say which. Give\n"
      "--at several times, in the order the model computes them, for more parts.\n"
      "The cut falls after the named values; everything computed before it that is\n"
      "still needed later (skip connections, masks, graph inputs) crosses too.",
      {{"model", "MODEL", false, "the model to cut: .onnx, or Keras .keras or .h5"}},
      {
          {{"--at"}, "at", OptionSpec::Kind::Append, "NAME", "where to cut (repeatable)", {}, false, true},
          {{"-o", "--output"},
           "output",
           OptionSpec::Kind::Value,
           "DIR",
           "directory to create for the parts (must not exist, see --force)"},
          {{"--force"}, "force", OptionSpec::Kind::Flag, "", "replace DIR if it exists"},
          {{"--weights"},
           "weights",
           OptionSpec::Kind::Value,
           "{auto,inline,external,in-place}",
           "where the parts' weights go (default auto)",
           {"auto", "inline", "external", "in-place"}},
          {{"--external-threshold"},
           "external_threshold",
           OptionSpec::Kind::Value,
           "BYTES",
           "with --weights auto, parts with more weight bytes than this go external (default 1 GiB)",
           {},
           true},
          signature_option(),
          {{"--json"}, "json", OptionSpec::Kind::Flag, "", "print what was written as JSON"},
          {{"-q", "--quiet"},
           "quiet",
           OptionSpec::Kind::Flag,
           "",
           "print only the paths of the parts (no summary, no progress bar)"},
          debug_option(),
      }};
  return spec;
}

int run_split(const Arguments& arguments, Output& output) {
  const std::string model = *arguments.value("model");
  const std::string weights = arguments.value("weights").value_or("auto");
  const auto output_dir = arguments.value("output");
  hand_over_saved_model(model);  // a SavedModel is frozen by TensorFlow, in the Python package
  check_input_file(model);
  if (!output_dir && weights != "in-place") {
    fail("no output directory: give -o DIR (only --weights in-place writes beside the model)");
  }
  const bool json = arguments.flag("json"), quiet = arguments.flag("quiet");
  SplitOptions options;
  options.cuts = arguments.all("at");
  options.output_dir = output_dir.value_or("");
  options.overwrite = arguments.flag("force");
  options.weights.mode = weight_mode(weights);
  if (const auto threshold = arguments.value("external_threshold")) {
    std::string digits;
    for (char c : *threshold) {
      if (c != '_' && c != ' ') digits += c;
    }
    if (digits.rfind('-', 0) == 0) fail("--external-threshold ", *threshold, ": give a number of bytes >= 0");
    try {
      options.weights.external_threshold = std::stoull(digits);
    } catch (const std::exception&) {
      fail("--external-threshold ", *threshold, ": give a number of bytes below 2**64");
    }
  }
  ProgressBar bar(!quiet && !json);
  options.progress = [&bar](std::size_t part, std::uint64_t done, std::uint64_t total) { bar(part, done, total); };

  SplitResult result;
  if (sniff_file_type(model) == FileType::Onnx) {
    // As the Python command does: the model is read (for shape inference,
    // there) before the output directory is looked at.
    const Model opened = Model::open(model);
    if (options.weights.mode != WeightMode::InPlace) check_output_path(options.output_dir, {model}, options.overwrite);
    result = opened.split(options);
  } else {
    result = split_model(model, options);
  }
  if (json) {
    output.line(split_json(result).dump());
    return 0;
  }
  if (!quiet) {
    for (const CutSummary& cut : result.cuts) {
      std::string values;
      for (const std::string& value : cut.values) values += (values.empty() ? "" : ", ") + value;
      output.error_line(
          printable("cut " + python_repr(cut.spec) + ": " + cut.kind + " " + cut.resolved_name + " -> " + values));
    }
    for (std::size_t index = 0; index + 1 < result.parts.size(); ++index) {
      std::string crossing;
      for (const ValueSummary& value : result.parts[index].outputs) {
        crossing += (crossing.empty() ? "" : ", ") + value.name + " " + value.type;
      }
      output.error_line(printable("boundary " + std::to_string(index + 1) + ": " + crossing));
    }
  }
  for (const PartSummary& part : result.parts) output.line(part.path.string());
  return 0;
}

}  // namespace modelcut::cli
