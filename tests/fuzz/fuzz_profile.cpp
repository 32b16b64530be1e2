// libFuzzer target: the profile reader (read_profile, the JSON files that
// `modelcut profile` writes and users copy between machines) and both
// planners fed with what it reads. The input is written to a file and read;
// a profile that reads is then planned on a small dataflow built here, whose
// node names the seeds use (tests/fuzz/make_profile_corpus.py writes the
// same graph as an ONNX model to record the real seed), so that matching,
// missing and unknown names and huge, tiny and zero times reach the
// pipeline planner (by time, with and without a bandwidth) and the
// device/server planner (the times as device and as server).
//
// The mutator knows the format: most mutations parse a profile, change its
// "nodes" (a time set to a value at some limit, a node added under one of
// the dataflow's names or another, removed or renamed, a time that is no
// number) and write it again, so that mutated profiles get past the JSON
// parser to the planners; the rest mutate the bytes as they are.
//
// modelcut::Error, from the reader or a planner, is the clean outcome;
// anything else (another exception, a sanitizer report, a plan that
// contradicts itself) is a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"
#include "plan/planners.h"

namespace {

using namespace modelcut;

TensorInfo float_tensor(std::vector<std::int64_t> sizes) {
  TensorInfo info;
  info.known = true;
  info.dtype = "float32";
  info.element_bits = 32;
  info.has_shape = true;
  // The leading dimension is the batch, as exporters write it.
  info.dims.push_back(Dim{-1, "N"});
  for (std::int64_t size : sizes) info.dims.push_back(Dim{size, ""});
  return info;
}

// The graph of make_profile_corpus.py's MODEL_TEXT: a skip connection, a
// Constant node, a node with two outputs, a second graph output and a node
// that no output needs. The two head nodes must stay together (as a
// TensorFlow while loop would), which only this copy says.
struct Graph {
  Dataflow dataflow;
  std::vector<NodeCost> costs;  // by NodeId
};

Graph build_graph() {
  Graph graph;
  Dataflow& dataflow = graph.dataflow;
  const ValueId x = dataflow.add_value("x", ValueKind::GraphInput);
  dataflow.mutable_value(x).info = float_tensor({8});
  dataflow.mark_graph_input(x);
  for (const char* weight : {"w1", "w2", "halves"}) dataflow.add_value(weight, ValueKind::Constant);
  struct Spec {
    const char* name;
    const char* op;
    std::vector<std::string> inputs, outputs;
    std::int64_t width;
    std::uint64_t param_bytes;
    std::uint32_t keep_together;
  };
  const std::vector<Spec> specs = {
      {"/fc1/MatMul", "MatMul", {"x", "w1"}, {"h"}, 8, 256, 0},
      {"/fc1/Relu", "Relu", {"h"}, {"r"}, 8, 0, 0},
      {"/res/Add", "Add", {"r", "x"}, {"s"}, 8, 0, 0},
      {"/scale/Constant", "Constant", {}, {"k"}, 1, 4, 0},
      {"/scale/Mul", "Mul", {"s", "k"}, {"m"}, 8, 0, 0},
      {"/split/Split", "Split", {"m", "halves"}, {"a", "b"}, 4, 16, 0},
      {"/head/Tanh", "Tanh", {"a"}, {"t"}, 4, 0, 1},
      {"/head/Add", "Add", {"t", "b"}, {"y"}, 4, 0, 1},
      {"/aux/MatMul", "MatMul", {"s", "w2"}, {"aux"}, 4, 128, 0},
      {"/unused/Sigmoid", "Sigmoid", {"x"}, {"unused"}, 8, 0, 0},
  };
  for (const Spec& spec : specs) {
    Node node;
    node.name = spec.name;
    node.op = spec.op;
    node.scope = {std::string(spec.name).substr(1, std::string(spec.name).rfind('/') - 1)};
    node.is_constant = node.op == "Constant";
    node.keep_together = spec.keep_together;
    for (const std::string& input : spec.inputs) node.inputs.push_back(dataflow.value_named(input));
    for (const std::string& output : spec.outputs) {
      node.outputs.push_back(dataflow.add_value(output, ValueKind::Computed));
      dataflow.mutable_value(node.outputs.back()).info = float_tensor({spec.width});
    }
    dataflow.add_node(std::move(node));
    graph.costs.push_back(NodeCost{spec.param_bytes, static_cast<std::uint64_t>(spec.width) * 8, true});
  }
  dataflow.mark_graph_output(dataflow.value_named("y"));
  dataflow.mark_graph_output(dataflow.value_named("aux"));
  dataflow.build_index();
  return graph;
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// What any plan must satisfy, whatever the times: numbers a table can show,
// as many stages as asked, and cuts that split_model resolves.
void check_plan(const Graph& graph, const LayerIndex& layers, const Plan& plan, std::size_t stages) {
  if (plan.stages.size() != stages) finding("a plan has " + std::to_string(plan.stages.size()) + " stages");
  for (const StagePlan& stage : plan.stages) {
    for (double number : {stage.time_us, stage.transfer_us, stage.cost}) {
      if (!std::isfinite(number) || number < 0) finding("a stage's time is " + std::to_string(number));
    }
  }
  for (double number : {plan.bottleneck, plan.ideal, plan.lower_bound, plan.latency_s}) {
    if (!std::isfinite(number) || number < 0) finding("a plan's figure is " + std::to_string(number));
  }
  std::vector<CutPoint> cuts;
  for (const PlanCut& cut : plan.cuts) {
    try {
      cuts.push_back(resolve_cut(graph.dataflow, layers, cut.spec));
    } catch (const Error& error) {
      finding("the plan's cut " + cut.spec + " does not resolve: " + error.what());
    }
  }
  if (!cuts.empty()) {
    try {
      partition_dataflow(graph.dataflow, cuts);
    } catch (const Error& error) {
      finding(std::string("the plan's cuts do not partition: ") + error.what());
    }
  }
}

// The times with those of the dataflow's first half of nodes (in
// topological order) multiplied by `early` and the others, names the
// dataflow lacks included, by `late`.
NodeTimes scaled(const Dataflow& dataflow, const NodeTimes& times, double early, double late) {
  NodeTimes result = times;
  for (auto& [name, microseconds] : result.microseconds) {
    const auto node = dataflow.find_node(name);
    const bool is_early = node && dataflow.position_of(*node) < dataflow.nodes().size() / 2;
    microseconds *= is_early ? early : late;
  }
  return result;
}

const Graph& the_graph() {
  static const Graph graph = build_graph();
  return graph;
}

void plan_with(const NodeTimes& times) {
  const Graph& graph = the_graph();
  static const LayerIndex layers(graph.dataflow);
  const DimBindings dims;
  const DimSizes sizes(graph.dataflow, dims);
  for (std::size_t stages : {2u, 3u}) {
    // Bytes per second: a link where transfers count, and one where they
    // dwarf every node.
    for (const std::optional<double> bandwidth :
         {std::optional<double>(), std::optional<double>(1e6), std::optional<double>(1.0)}) {
      PipelineOptions options;
      options.stages = stages;
      options.balance = Balance::Time;
      options.times = times;
      options.bandwidth = bandwidth;
      try {
        check_plan(graph, layers, plan_pipeline(graph.dataflow, layers, graph.costs, sizes, options), stages);
      } catch (const Error&) {
      }
    }
  }
  // The profile on both sides (the device alone wins, as a round trip
  // costs more than any split saves), against a server ten times faster
  // (the server alone wins), and with each side ten times faster on its
  // half of the model over a fast link (a split wins).
  const NodeTimes slower = scaled(graph.dataflow, times, 10, 10);
  const NodeTimes late_slow = scaled(graph.dataflow, times, 1, 10);
  const NodeTimes early_slow = scaled(graph.dataflow, times, 10, 1);
  struct Setting {
    const NodeTimes *device, *server;
    double bandwidth, rtt;
  };
  for (const Setting& setting : {Setting{&times, &times, 1e6, 0.001}, Setting{&slower, &times, 1e6, 1e-6},
                                 Setting{&late_slow, &early_slow, 1e9, 0}}) {
    DeviceServerOptions options;
    options.device = *setting.device;
    options.server = *setting.server;
    options.bandwidth = setting.bandwidth;
    options.rtt = setting.rtt;
    try {
      check_plan(graph, layers, plan_device_server(graph.dataflow, layers, graph.costs, sizes, options), 2);
    } catch (const Error&) {
    }
  }
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

using Json = nlohmann::json;

// Times at the edges of what the reader and the planners take, and beyond.
double interesting_time(std::minstd_rand& random) {
  static const double times[] = {0.0,
                                 -0.0,
                                 1e-9,
                                 5e-324,
                                 0.5,
                                 1.0,
                                 999999999999.999,
                                 1e12,
                                 1e12 + 1e-3,
                                 1.0000000000001e12,
                                 1e15,
                                 1.8446744073709552e19,
                                 1e300,
                                 -1.0,
                                 std::numeric_limits<double>::max()};
  const std::size_t pick = random() % (std::size(times) + 2);
  if (pick < std::size(times)) return times[pick];
  if (pick == std::size(times)) return static_cast<double>(random() % 100000) / 8;
  // Any bit pattern that is a number JSON can write.
  std::uint64_t bits = (std::uint64_t{random()} << 32) ^ random();
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return std::isfinite(value) ? value : 1.0;
}

std::string some_name(std::minstd_rand& random, const Json& nodes) {
  const auto& dataflow_nodes = the_graph().dataflow.nodes();
  switch (random() % 4) {
    case 0:
      return "/not/in/Model" + std::to_string(random() % 4);
    case 1:
      if (!nodes.empty()) {
        auto it = nodes.begin();
        std::advance(it, random() % nodes.size());
        return it.key() + "_";
      }
      [[fallthrough]];
    default:
      return dataflow_nodes[random() % dataflow_nodes.size()].name;
  }
}

// One change to the profile's "nodes"; false when there is none to make.
bool mutate_nodes(Json& nodes, std::minstd_rand& random) {
  const auto pick_key = [&]() -> std::string {
    auto it = nodes.begin();
    std::advance(it, random() % nodes.size());
    return it.key();
  };
  switch (random() % 6) {
    case 0:
    case 1:  // a time at some limit, for a node already there or a new one
      if (!nodes.empty() && random() % 2) {
        nodes[pick_key()] = interesting_time(random);
      } else {
        nodes[some_name(random, nodes)] = interesting_time(random);
      }
      return true;
    case 2:  // an integer time, up to the largest JSON integer
      nodes[nodes.empty() ? some_name(random, nodes) : pick_key()] =
          random() % 2 ? Json(std::uint64_t{random()} << (random() % 33)) : Json(-static_cast<std::int64_t>(random()));
      return true;
    case 3:  // a node removed
      if (nodes.empty()) return false;
      nodes.erase(pick_key());
      return true;
    case 4: {  // a node renamed
      if (nodes.empty()) return false;
      const std::string key = pick_key();
      Json value = nodes[key];
      nodes.erase(key);
      nodes[some_name(random, nodes)] = std::move(value);
      return true;
    }
    default: {  // a time that is no number
      static const Json others[] = {Json(nullptr), Json(true), Json("1.5"), Json::array({1}), Json::object()};
      nodes[nodes.empty() ? some_name(random, nodes) : pick_key()] = others[random() % std::size(others)];
      return true;
    }
  }
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  std::minstd_rand random(seed);
  if (random() % 4 == 0) return LLVMFuzzerMutate(data, size, max_size);
  // No exceptions from parse (it returns a discarded value) nor from dump
  // (invalid UTF-8 from byte mutations is replaced).
  Json json = Json::parse(data, data + size, nullptr, false);
  if (!json.is_object() || !json.contains("nodes") || !json["nodes"].is_object() ||
      !mutate_nodes(json["nodes"], random)) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  const std::string text = json.dump(random() % 2 ? 1 : -1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, text.data(), text.size());
  return text.size();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = modelcut::fuzz::write_input(data, size, "profile.json");
  std::optional<modelcut::NodeTimes> times;
  try {
    times = modelcut::read_profile(path);
  } catch (const modelcut::Error&) {
  }
  modelcut::fuzz::check_nothing_left_behind(path);
  if (times) plan_with(*times);
  return 0;
}
