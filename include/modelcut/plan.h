// Choosing where to cut: what each node costs, and two planners on the
// format-neutral dataflow.
//
//   pipeline plan:       K stages whose most expensive stage is as cheap as
//                        possible (by parameter bytes, MACs or measured time),
//                        optionally with transfer time and caps per stage and
//                        per boundary;
//   device/server plan:  the 2-way partition with the least predicted latency
//                        (device time before the cut, the crossing bytes over a
//                        link, server time after it), found as a minimum s-t cut.
//
// Costs come from the format adapters (parameter bytes and MACs, see
// SourceModel::node_costs) and from profiles recorded by `modelcut profile`
// (measured time per node, by node name). Plans are results: their cuts are
// cut specs that split_model accepts as they are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modelcut/dataflow.h"
#include "modelcut/modelcut.h"

namespace modelcut {

// Sizes for a model's symbolic dimensions. `batch` is the size of every
// symbolic dimension that is the leading dimension of a graph input; named
// symbols ("seq") are set by `symbols`. A symbol left unbound counts as 1 and
// is listed in Plan::unbound_symbols.
struct DimBindings {
  std::uint64_t batch = 1;
  std::map<std::string, std::uint64_t> symbols;
};

// DimBindings applied to one dataflow: the size of every dimension.
class DimSizes {
 public:
  DimSizes(const Dataflow& dataflow, const DimBindings& bindings);
  // Elements of a shape: fixed dimensions as they are, symbols as bound
  // (the graph inputs' leading symbols as the batch), anything else as 1
  // (and remembered for unbound()). nullopt when the shape is unknown or the
  // count does not fit in 64 bits.
  std::optional<std::uint64_t> elements(const TensorInfo& info) const;
  // elements() times the element size; nullopt also for non-tensors.
  std::optional<std::uint64_t> bytes(const TensorInfo& info) const;
  // Size of one dimension (1 for an unbound one).
  std::uint64_t size_of(const Dim& dim) const;
  // Symbols (and "?" for unnamed dimensions) met so far that had no size.
  std::vector<std::string> unbound() const;

 private:
  std::map<std::string, std::uint64_t> sizes_;
  mutable std::map<std::string, bool> unbound_;
};

// What one node costs, as its format adapter knows it.
struct NodeCost {
  // Bytes of the stored weights it reads; a weight read by several nodes is
  // counted once, at its first reader in topological order.
  std::uint64_t param_bytes = 0;
  // Multiply-accumulates of one run with the given dimension sizes
  // (elementwise ops count one per output element).
  std::uint64_t macs = 0;
  // False when the op is not in the adapter's table or a shape it needs is
  // unknown; macs is then 0.
  bool macs_known = true;
};

// Measured time per node, in microseconds, keyed by node name as the dataflow
// names nodes (`modelcut profile` writes it; see read_profile for the file).
struct NodeTimes {
  std::string source;  // where it came from, for messages
  std::map<std::string, double> microseconds;
  std::string model;  // the profile's "model": the file it was recorded on ("" when it does not say)
};

// Reads a profile written by `modelcut profile` (JSON: {"format":
// "modelcut-profile", "version": 1, "nodes": {"name": microseconds, ...}, ...}).
// Throws Error naming the file for anything else.
NodeTimes read_profile(const std::filesystem::path& path);

enum class Balance { Params, Flops, Time };
const char* to_string(Balance balance);

struct PipelineOptions {
  std::size_t stages = 2;
  Balance balance = Balance::Params;
  std::optional<NodeTimes> times;  // needed for Balance::Time
  // With Balance::Time: a stage's cost includes sending what crosses its
  // outgoing boundary at this many bytes per second.
  std::optional<double> bandwidth;
  std::optional<std::uint64_t> max_stage_param_bytes;
  std::optional<std::uint64_t> max_boundary_bytes;
  DimBindings dims;
};

struct DeviceServerOptions {
  NodeTimes device, server;
  double bandwidth = 0;  // bytes per second over the link
  double rtt = 0;        // seconds, paid once when anything runs on the server
  // Bandwidths for the table of best cuts (Plan::sweep); empty: a default
  // range around `bandwidth`.
  std::vector<double> sweep_bandwidths;
  DimBindings dims;
};

struct PlanCut {
  std::string spec;                    // for SplitOptions::cuts
  std::vector<std::string> values;     // the computed values the cut is placed after
  std::vector<ValueSummary> crossing;  // everything that crosses (values, skip connections, graph inputs)
  std::uint64_t crossing_bytes = 0;    // with the plan's DimBindings
  bool bytes_known = true;
};

struct StagePlan {
  std::string first_layer, last_layer;  // of its first and last node (node name when it has no layer)
  std::size_t node_count = 0;
  std::uint64_t param_bytes = 0;
  std::uint64_t macs = 0;
  bool macs_known = true;
  double time_us = 0;      // predicted from the profile (0 without one)
  double transfer_us = 0;  // sending its outgoing boundary (0 without a bandwidth)
  double cost = 0;         // what the plan balanced, in the unit of Plan::cost_unit
};

// One row of the device/server table: the best plan at one bandwidth.
struct BandwidthRow {
  double bandwidth = 0;
  double latency_s = 0;
  std::string placement;  // "device only", "server only" or "split"
  std::vector<std::string> cut_values;
  std::uint64_t crossing_bytes = 0;
};

// Cost along the model, one entry per node in planning_order(), for tables
// and pictures.
struct PositionCost {
  std::string node, layer, op;
  double cost = 0;                // in Plan::cost_unit
  std::uint64_t alive_bytes = 0;  // bytes crossing a cut placed right after this node
  bool alive_bytes_known = true;
};

struct Plan {
  std::string kind;       // "pipeline" or "device-server"
  std::string objective;  // "params", "flops", "time" or "latency"
  std::string cost_unit;  // "bytes", "MACs", "us"
  std::vector<PlanCut> cuts;
  std::vector<StagePlan> stages;  // pipeline: K; device/server: device part then server part
  double bottleneck = 0;          // pipeline: cost of the most expensive stage
  double ideal = 0;               // pipeline: total cost / K
  double lower_bound = 0;         // pipeline: no partition of any kind does better
  // The search was exhaustive over its space (see the README: pipeline plans
  // cut one topological order; device/server plans consider every valid
  // 2-way partition).
  bool optimal = true;
  double latency_s = 0;             // device/server: predicted end-to-end latency
  std::string placement;            // device/server: "device only", "server only" or "split"
  std::vector<BandwidthRow> sweep;  // device/server
  std::vector<PositionCost> along;
  std::vector<std::string> unbound_symbols;
  std::vector<std::string> warnings;  // e.g. nodes with unknown MACs, profile names not in the model
};

// The order in which the pipeline planner cuts and plans list nodes: the
// dataflow's topological order, except that a node computed from stored
// weights alone (no graph input upstream: an Identity or Transpose of a
// weight, a Constant) comes right before its first reader. Exporters often
// put such nodes at the very start; cut where they stand, their outputs
// would cross every boundary as if they were activations.
std::vector<NodeId> planning_order(const Dataflow& dataflow);

// A model opened once: inspect it, plan it and split it without reading it
// again. Not copyable; safe to use from one thread at a time.
class Model {
 public:
  static Model open(const std::filesystem::path& path, const std::vector<std::string>& type_hints = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const std::filesystem::path& path() const;
  const Dataflow& dataflow() const;
  InspectReport inspect() const;
  std::vector<CutSummary> resolve(const std::vector<std::string>& cuts) const;
  SplitResult split(const SplitOptions& options) const;
  // Per node (indexed by NodeId).
  std::vector<NodeCost> node_costs(const DimBindings& dims) const;
  Plan plan_pipeline(const PipelineOptions& options) const;
  Plan plan_device_server(const DeviceServerOptions& options) const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelcut
