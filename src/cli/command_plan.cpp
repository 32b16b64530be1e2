// `modelcut plan MODEL ...`: cli.py's cmd_plan, on the core's planners.
// Pipeline plans (--stages N) by parameter bytes, MACs or the times of a
// recorded profile, and device/server plans (--device, --server,
// --bandwidth), as text or JSON, optionally split at once (--split DIR).
// Two things need the Python package and are handed to it: --plot (drawn
// with matplotlib) and --balance time without --profile (the model is first
// profiled on ONNX Runtime or Keras). The checks run in cli.py's order, with
// its words, so that both commands refuse a bad command line with the same
// line.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "cli/commands.h"
#include "cli/plan_output.h"
#include "cli/progress.h"
#include "cli/python_text.h"
#include "cli/units.h"
#include "modelcut/file_type.h"
#include "modelcut/plan.h"
#include "util/output_files.h"

namespace modelcut::cli {
namespace {

using OptionKind = OptionSpec::Kind;

// cli.py's _count: a whole number >= minimum, surrounding spaces allowed.
std::uint64_t parse_count(const std::string& text, const std::string& option, std::uint64_t minimum = 1) {
  const std::string digits = units::strip(text);
  const bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long value = all_digits ? std::strtoull(digits.c_str(), nullptr, 10) : 0;
  if (!all_digits || value < minimum) {
    fail(option, " ", python_repr(text), ": give a whole number >= ", minimum);
  }
  if (errno == ERANGE) fail(option, " ", python_repr(text), " is too large");
  return value;
}

// cli.py's _dims: NAME=SIZE, in the order given; a name given twice keeps
// its first place and its last size, as a Python dict does.
std::vector<std::pair<std::string, std::uint64_t>> parse_dims(const std::vector<std::string>& texts) {
  std::vector<std::pair<std::string, std::uint64_t>> dims;
  for (const std::string& text : texts) {
    const std::size_t equals = text.find('=');
    const std::string name = text.substr(0, equals);
    const std::string size = equals == std::string::npos ? "" : units::strip(text.substr(equals + 1));
    const bool digits = !size.empty() && size.find_first_not_of("0123456789") == std::string::npos;
    errno = 0;
    const unsigned long long value = digits ? std::strtoull(size.c_str(), nullptr, 10) : 0;
    if (equals == std::string::npos || name.empty() || value < 1 || errno == ERANGE) {
      fail("--dim ", python_repr(text), ": write NAME=SIZE with a size >= 1, e.g. --dim seq=128");
    }
    bool found = false;
    for (auto& [known, known_size] : dims) {
      if (known == name) known_size = value, found = true;
    }
    if (!found) dims.emplace_back(name, value);
  }
  return dims;
}

// cli.py's _check_plan_args: which plan, and options that belong to the other.
void check_plan_arguments(const Arguments& arguments) {
  const bool device = arguments.flag("device"), server = arguments.flag("server");
  if (device || server) {
    if (!device || !server) fail("a device/server plan needs both --device and --server profiles");
    if (arguments.flag("stages")) {
      fail("--stages is for pipeline plans; a device/server plan (--device, --server) has two parts");
    }
    if (!arguments.flag("bandwidth")) {
      fail("a device/server plan needs the link's --bandwidth, e.g. --bandwidth 10MB/s");
    }
    for (const char* option : {"profile", "max_stage_params", "max_boundary_bytes"}) {
      std::string name = option;
      for (char& c : name) c = c == '_' ? '-' : c;
      if (arguments.flag(option)) fail("--", name, " is for pipeline plans (--stages N)");
    }
    if (arguments.flag("balance")) fail("--balance is for pipeline plans; a device/server plan minimises latency");
    return;
  }
  if (!arguments.flag("stages")) {
    fail("say what to plan: --stages N for a pipeline, or --device and --server profiles for a device/server split");
  }
  if (arguments.flag("rtt") || arguments.flag("sweep")) {
    fail("--rtt and --sweep are for device/server plans (--device, --server)");
  }
  if (const auto balance = arguments.value("balance")) {
    if (*balance != "params" && *balance != "flops" && *balance != "time") {
      fail("unknown --balance ", python_repr(*balance), ": choose params, flops or time");
    }
  }
}

// planner.py's _profile_path: the profile exists, is one, and names some of
// the model's nodes (else it was recorded for another model, and every time
// would silently count as 0).
NodeTimes checked_profile(const std::string& path, const std::string& option, const std::string& model,
                          const Dataflow& dataflow) {
  const std::string label = option + " '" + path + "'";
  std::error_code error;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, error))) {
    fail(label, " does not exist: record one with `modelcut profile MODEL -o FILE`");
  }
  NodeTimes times = read_profile(path);
  if (times.microseconds.empty()) return times;
  std::set<std::string> names;
  for (const Node& node : dataflow.nodes()) names.insert(node.name);
  for (const auto& [name, microseconds] : times.microseconds) {
    if (names.count(name)) return times;
  }
  fail(label, " names none of the ", names.size(), " nodes of '", model.substr(model.rfind('/') + 1),
       "': it was recorded for another model ('", times.model.empty() ? "?" : times.model, "')");
}

// cli.py's _shell_word: the word as a shell reads it back.
std::string shell_word(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_./:@#=,+-") == std::string::npos;
  if (plain) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

const CommandSpec& plan_spec() {
  static const CommandSpec spec{
      "plan",
      "choose where to cut: balanced pipeline stages or a device/server split",
      "Choose where to cut.\n"
      "\n"
      "Pipeline plan (--stages N): N stages whose most expensive stage is as cheap\n"
      "as possible, by parameter bytes (--balance params), MACs computed from shapes\n"
      "(flops) or time measured by `modelcut profile` (time; without --profile the\n"
      "model is profiled first). The search is exact over every cut of one\n"
      "topological order of the model, including cuts where several values cross.\n"
      "\n"
      "Device/server plan (--device, --server, --bandwidth): the split with the\n"
      "least predicted latency: device time before the cut, the bytes crossing it\n"
      "over the link (plus --rtt), server time after it, over every valid 2-way\n"
      "partition of the graph (a minimum cut); then the best plan at a range of\n"
      "bandwidths (--sweep).\n"
      "\n"
      "Sizes take units: 10MB/s, 100Mbit/s, 1GiB, 16MB, 20ms. The cuts print as\n"
      "specs that `modelcut split --at` takes; --split DIR writes the parts at once.\n"
      "\n"
      "  modelcut plan model.onnx --stages 4 --balance flops --plot plan.png\n"
      "  modelcut plan model.onnx --stages 4 --balance time --profile times.json --split stages\n"
      "  modelcut plan model.onnx --device phone.json --server gpu.json --bandwidth 10MB/s --rtt 20ms",
      {{"model", "MODEL", false, "the model: .onnx, or Keras .keras or .h5"}},
      {
          {{"--stages"},
           "stages",
           OptionKind::Value,
           "N",
           "number of stages (N - 1 cuts)",
           {},
           false,
           false,
           "pipeline plan"},
          {{"--balance"},
           "balance",
           OptionKind::Value,
           "params|flops|time",
           "what to balance: parameter bytes (default), MACs, or measured time"},
          {{"--profile"}, "profile", OptionKind::Value, "FILE", "times from `modelcut profile`, for --balance time"},
          {{"--max-stage-params"},
           "max_stage_params",
           OptionKind::Value,
           "SIZE",
           "cap on each stage's parameter bytes (e.g. 1GB)"},
          {{"--max-boundary-bytes"},
           "max_boundary_bytes",
           OptionKind::Value,
           "SIZE",
           "cap on the bytes crossing each cut (e.g. 16MB)"},
          {{"--device"},
           "device",
           OptionKind::Value,
           "FILE",
           "profile recorded on the device (runs the first part)",
           {},
           false,
           false,
           "device/server plan"},
          {{"--server"}, "server", OptionKind::Value, "FILE", "profile recorded on the server (runs the rest)"},
          {{"--rtt"},
           "rtt",
           OptionKind::Value,
           "DURATION",
           "round-trip time paid once when the server is used (e.g. 20ms)"},
          {{"--sweep"},
           "sweep",
           OptionKind::Value,
           "RATES",
           "bandwidths of the table of best plans (e.g. 1MB/s,10MB/s,100MB/s; default: a range around --bandwidth)"},
          {{"--bandwidth"},
           "bandwidth",
           OptionKind::Value,
           "RATE",
           "link speed (e.g. 10MB/s, 1Gbit/s); for a pipeline with --balance time, each stage's time includes "
           "sending its outputs",
           {},
           false,
           false,
           "both"},
          {{"--batch"}, "batch", OptionKind::Value, "N", "size of each input's leading symbolic dimension (default 1)"},
          {{"--dim"}, "dim", OptionKind::Append, "NAME=SIZE", "size of a symbolic dimension (repeatable)"},
          {{"--json"}, "json", OptionKind::Flag, "", "print the plan as JSON", {}, false, false, "output"},
          {{"--split"}, "split", OptionKind::Value, "DIR", "also split the model at the plan's cuts into DIR"},
          {{"--plot"}, "plot", OptionKind::Value, "FILE", "draw the plan into FILE (.png, .svg or .pdf)"},
          {{"--force"},
           "force",
           OptionKind::Flag,
           "",
           "replace --split DIR or --plot FILE if they exist (never a file the model reads)"},
          {{"-q", "--quiet"}, "quiet", OptionKind::Flag, "", "no messages on stderr"},
          debug_option(),
      }};
  return spec;
}

int run_plan(const Arguments& arguments, Output& output) {
  const std::string model = *arguments.value("model");
  hand_over_saved_model(model);
  const auto balance_given = arguments.value("balance");
  if (arguments.flag("plot")) throw HandOver{"plans are drawn with matplotlib"};
  if (balance_given == "time" && !arguments.flag("profile") && !arguments.flag("device") && !arguments.flag("server")) {
    throw HandOver{"--balance time without --profile first profiles the model on its runtime"};
  }
  check_plan_arguments(arguments);
  PlanRequest request;
  request.model = model;
  request.dims = parse_dims(arguments.all("dim"));
  request.batch = parse_count(arguments.value("batch").value_or("1"), "--batch");
  const FileType type = sniff_file_type(model);
  if (type != FileType::KerasZip && type != FileType::Hdf5) input_files(model);  // a missing model, before the rest
  const auto split_dir = arguments.value("split");
  const bool force = arguments.flag("force"), json = arguments.flag("json");
  std::error_code error;
  if (split_dir && std::filesystem::exists(std::filesystem::symlink_status(*split_dir, error)) && !force) {
    fail("--split '", *split_dir, "' exists; give --force to replace it");
  }
  DimBindings dims;
  dims.batch = request.batch;
  for (const auto& [name, size] : request.dims) dims.symbols[name] = size;

  std::optional<PipelineOptions> pipeline;
  std::optional<DeviceServerOptions> device_server;
  if (arguments.flag("device")) {
    request.device_server = true;
    request.device = *arguments.value("device");
    request.server = *arguments.value("server");
    request.bandwidth = units::parse_rate(*arguments.value("bandwidth"), "--bandwidth");
    if (const auto rtt = arguments.value("rtt")) request.rtt = units::parse_seconds(*rtt, "--rtt");
    if (const auto sweep = arguments.value("sweep")) request.sweep = units::parse_rates(*sweep, "--sweep");
    device_server.emplace();
    device_server->bandwidth = *request.bandwidth;
    device_server->rtt = request.rtt;
    device_server->sweep_bandwidths = request.sweep;
    device_server->dims = dims;
  } else {
    request.stages = parse_count(*arguments.value("stages"), "--stages");
    request.balance = balance_given.value_or("params");
    request.profile = arguments.value("profile");
    if (request.profile && request.balance != "time") {
      fail("--profile gives times: add --balance time (not ", request.balance, ")");
    }
    if (const auto bandwidth = arguments.value("bandwidth")) {
      request.bandwidth = units::parse_rate(*bandwidth, "--bandwidth");
    }
    if (const auto cap = arguments.value("max_stage_params")) {
      request.max_stage_params = units::parse_bytes(*cap, "--max-stage-params");
    }
    if (const auto cap = arguments.value("max_boundary_bytes")) {
      request.max_boundary_bytes = units::parse_bytes(*cap, "--max-boundary-bytes");
    }
    if (request.bandwidth && request.balance != "time") {
      fail("bandwidth adds transfer time to stage times: use it with balance 'time'");
    }
    pipeline.emplace();
    pipeline->stages = request.stages;
    pipeline->balance = request.balance == "time"    ? Balance::Time
                        : request.balance == "flops" ? Balance::Flops
                                                     : Balance::Params;
    pipeline->bandwidth = request.bandwidth;
    pipeline->max_stage_param_bytes = request.max_stage_params;
    pipeline->max_boundary_bytes = request.max_boundary_bytes;
    pipeline->dims = dims;
  }
  // The profiles read are inputs too: --split DIR --force never deletes one
  // lying inside DIR. Checked before any time is spent planning.
  std::vector<std::filesystem::path> profiles;
  for (const char* option : {"profile", "device", "server"}) {
    if (const auto path = arguments.value(option)) profiles.emplace_back(*path);
  }
  if (split_dir) {
    std::vector<std::filesystem::path> reads = profiles;
    reads.emplace_back(model);
    check_output_path(*split_dir, reads, force);
  }

  const Model opened = Model::open(model);
  const auto start = std::chrono::steady_clock::now();
  Plan plan;
  if (pipeline) {
    if (request.profile) pipeline->times = checked_profile(*request.profile, "profile", model, opened.dataflow());
    plan = opened.plan_pipeline(*pipeline);
  } else {
    device_server->device = checked_profile(request.device, "device profile", model, opened.dataflow());
    device_server->server = checked_profile(request.server, "server profile", model, opened.dataflow());
    plan = opened.plan_device_server(*device_server);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::optional<SplitResult> parts;
  if (split_dir) {
    if (plan.cuts.empty()) {
      fail("the plan has no cut (", plan.placement.empty() ? "1 stage" : plan.placement,
           "): there is nothing to split");
    }
    SplitOptions options;
    for (const PlanCut& cut : plan.cuts) options.cuts.push_back(cut.spec);
    options.output_dir = *split_dir;
    options.overwrite = force;
    options.also_read = profiles;
    ProgressBar bar(!arguments.flag("quiet") && !json);
    options.progress = [&bar](std::size_t part, std::uint64_t done, std::uint64_t total) { bar(part, done, total); };
    parts = opened.split(options);
  }
  if (json) {
    Json out = plan_json(plan, request, seconds);
    if (parts) out.set("split", split_json(*parts));
    output.line(out.dump());
    return 0;
  }
  for (const std::string& line : plan_table(plan, request)) output.line(line);
  if (parts) {
    output.line("\nparts:");
    for (const PartSummary& part : parts->parts) output.line(printable("  " + part.path.string()));
  } else if (!plan.cuts.empty()) {
    std::string at;
    for (const PlanCut& cut : plan.cuts) at += (at.empty() ? "--at " : " --at ") + shell_word(cut.spec);
    const std::string command = "modelcut split " + shell_word(model) + " " + at + " -o DIR";
    output.line("");
    if (code_point_count(command) > 300) {  // cuts after many values: a command nobody would retype
      output.line("split there: add --split DIR (--json lists each cut's spec for modelcut split --at)");
    } else {
      output.line(printable("split there: " + command));
    }
  }
  return 0;
}

}  // namespace modelcut::cli
