// See plan_output.h. Each function is named after the one of
// python/modelcut/plan/table.py it reproduces.
#include "cli/plan_output.h"

#include <algorithm>

#include "cli/commands.h"
#include "cli/python_text.h"
#include "cli/units.h"
#include "modelcut/error.h"

namespace modelcut::cli {
namespace {

using units::format_bytes;
using units::format_count;
using units::format_number;
using units::format_rate;
using units::format_seconds;

// The table names the largest few values a cut carries and counts the rest;
// --json lists them all.
constexpr std::size_t kShownValues = 3;

std::string format_cost(double value, const std::string& unit) {
  if (unit == "bytes") return format_bytes(value);
  if (unit == "MACs") return format_count(value);
  if (unit == "us") return format_seconds(value / 1e6);
  return format_number("%.4g", value);
}

std::string padded(const std::string& cell, std::size_t width, bool right) {
  const std::size_t length = code_point_count(cell);
  const std::string fill(width > length ? width - length : 0, ' ');
  return right ? fill + cell : cell + fill;
}

// Left-aligned columns (right-aligned where `right` says), two spaces apart,
// trailing spaces dropped; cells are made printable first, so that the
// widths are those printed.
std::vector<std::string> format_columns(const std::vector<std::string>& header,
                                        const std::vector<std::vector<std::string>>& rows,
                                        const std::vector<std::size_t>& right) {
  std::vector<std::vector<std::string>> table{header};
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const std::string& cell : row) cells.push_back(printable(cell));
    table.push_back(std::move(cells));
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& row : table) {
    for (std::size_t column = 0; column < header.size(); ++column) {
      widths[column] = std::max(widths[column], code_point_count(row[column]));
    }
  }
  std::vector<std::string> lines;
  for (const auto& row : table) {
    std::string line;
    for (std::size_t column = 0; column < header.size(); ++column) {
      const bool is_right = std::find(right.begin(), right.end(), column) != right.end();
      line += (column ? "  " : "") + padded(row[column], widths[column], is_right);
    }
    line.erase(line.find_last_not_of(" \t\n\v\f\r\x1c\x1d\x1e\x1f") + 1);
    lines.push_back(line);
  }
  return lines;
}

std::string joined(const std::vector<std::string>& texts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < texts.size(); ++i) out += (i ? separator : "") + texts[i];
  return out;
}

std::string more(std::size_t count) {
  return count > kShownValues ? ", +" + std::to_string(count - kShownValues) + " more" : "";
}

std::string crossing_text(const PlanCut& cut) {
  std::vector<const ValueSummary*> values;
  for (const ValueSummary& value : cut.crossing) values.push_back(&value);
  std::stable_sort(values.begin(), values.end(), [](const ValueSummary* a, const ValueSummary* b) {
    return a->bytes.value_or(0) > b->bytes.value_or(0);
  });
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < values.size() && i < kShownValues; ++i) {
    shown.push_back(values[i]->name + " " + values[i]->type);
  }
  return joined(shown, ", ") + more(values.size());
}

std::string after_text(const PlanCut& cut) {
  const std::vector<std::string> shown(
      cut.values.begin(), cut.values.begin() + static_cast<long>(std::min(cut.values.size(), kShownValues)));
  return joined(shown, ", ") + more(cut.values.size());
}

std::vector<std::string> stage_rows(const Plan& plan, const std::vector<std::string>& labels) {
  std::vector<std::string> header{"stage", "first layer", "last layer", "nodes", "params", "MACs", "time"};
  const bool with_transfer = std::any_of(plan.stages.begin(), plan.stages.end(),
                                         [](const StagePlan& stage) { return stage.transfer_us != 0; });
  if (with_transfer) header.push_back("transfer");
  const bool with_cost = plan.kind == "pipeline";
  if (with_cost) header.push_back("cost (" + plan.objective + ")");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < labels.size() && i < plan.stages.size(); ++i) {
    const StagePlan& stage = plan.stages[i];
    std::vector<std::string> row{labels[i],
                                 stage.first_layer.empty() ? "-" : stage.first_layer,
                                 stage.last_layer.empty() ? "-" : stage.last_layer,
                                 std::to_string(stage.node_count),
                                 format_bytes(static_cast<double>(stage.param_bytes)),
                                 format_count(static_cast<double>(stage.macs)) + (stage.macs_known ? "" : "+?"),
                                 stage.time_us != 0 ? format_seconds(stage.time_us / 1e6) : "-"};
    if (with_transfer) row.push_back(format_seconds(stage.transfer_us / 1e6));
    if (with_cost) row.push_back(format_cost(stage.cost, plan.cost_unit));
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> right;
  for (std::size_t column = 3; column < header.size(); ++column) right.push_back(column);
  return format_columns(header, rows, right);
}

std::vector<std::string> cut_rows(const Plan& plan) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < plan.cuts.size(); ++i) {
    const PlanCut& cut = plan.cuts[i];
    rows.push_back({std::to_string(i + 1),
                    cut.bytes_known ? format_bytes(static_cast<double>(cut.crossing_bytes)) : "?",
                    std::to_string(cut.crossing.size()), crossing_text(cut)});
  }
  std::vector<std::string> lines = format_columns({"cut", "bytes", "values", "crossing (largest first)"}, rows, {1, 2});
  for (std::size_t i = 0; i < plan.cuts.size(); ++i) {
    lines.push_back("cut " + std::to_string(i + 1) + " falls after: " + after_text(plan.cuts[i]));
  }
  return lines;
}

std::string model_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }  // os.path.basename

std::string sizes_text(const PlanRequest& request) {
  std::vector<std::string> dims;
  for (const auto& [name, size] : request.dims) dims.push_back(name + "=" + std::to_string(size));
  return "batch " + std::to_string(request.batch) + (dims.empty() ? "" : ", " + joined(dims, ", "));
}

std::vector<std::string> format_pipeline(const Plan& plan, const PlanRequest& request) {
  const std::string by = plan.objective == "params"  ? "parameter bytes"
                         : plan.objective == "flops" ? "MACs"
                         : plan.objective == "time"  ? "measured time"
                                                     : plan.objective;
  const std::string source = request.profile && !request.profile->empty() ? " (profile " + *request.profile + ")" : "";
  std::vector<std::string> lines{model_name(request.model) + ": " + std::to_string(plan.stages.size()) +
                                 " pipeline stages balanced by " + by + source + ", " + sizes_text(request)};
  if (request.bandwidth && *request.bandwidth != 0) lines[0] += ", transfers at " + format_rate(*request.bandwidth);
  lines.emplace_back();
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < plan.stages.size(); ++i) labels.push_back(std::to_string(i + 1));
  for (std::string& line : stage_rows(plan, labels)) lines.push_back(std::move(line));
  if (!plan.cuts.empty()) {
    lines.emplace_back();
    for (std::string& line : cut_rows(plan)) lines.push_back(std::move(line));
  }
  lines.emplace_back();
  const std::string& unit = plan.cost_unit;
  std::string summary = "slowest stage " + format_cost(plan.bottleneck, unit);
  if (plan.ideal != 0) {
    summary += " = " + format_number("%.2f", plan.bottleneck / plan.ideal) + " x the ideal " +
               format_cost(plan.ideal, unit) + " (total / stages)";
  }
  if (plan.lower_bound != 0) summary += "; no cut of any kind beats " + format_cost(plan.lower_bound, unit);
  lines.push_back(summary);
  lines.push_back(std::string("searched every cut of one topological order") +
                  (plan.optimal ? "" : " (not exhaustively)"));
  return lines;
}

std::vector<std::string> format_device_server(const Plan& plan, const PlanRequest& request) {
  const std::string link = format_rate(request.bandwidth.value_or(0)) +
                           (request.rtt != 0 ? " + " + format_seconds(request.rtt) + " round trip" : "");
  std::vector<std::string> lines{
      model_name(request.model) + ": device/server plan, link " + link + ", " + sizes_text(request),
      "best: " + plan.placement + ", predicted latency " + format_seconds(plan.latency_s), ""};
  std::vector<std::string> labels;
  if (plan.stages.size() == 2) {
    labels = {"device", "server"};
  } else {
    labels.assign(plan.stages.size(), plan.placement == "server only" ? "server" : "device");
  }
  for (std::string& line : stage_rows(plan, labels)) lines.push_back(std::move(line));
  if (!plan.cuts.empty()) {
    lines.emplace_back();
    for (std::string& line : cut_rows(plan)) lines.push_back(std::move(line));
  }
  if (!plan.sweep.empty()) {
    lines.emplace_back();
    lines.push_back("best plan at each bandwidth:");
    std::vector<std::vector<std::string>> rows;
    for (const BandwidthRow& row : plan.sweep) {
      const std::string after = joined(row.cut_values, ", ");
      rows.push_back({format_rate(row.bandwidth), format_seconds(row.latency_s), row.placement,
                      row.placement != "device only" ? format_bytes(static_cast<double>(row.crossing_bytes)) : "-",
                      after.empty() ? "-" : after});
    }
    for (std::string& line :
         format_columns({"bandwidth", "latency", "placement", "bytes", "cut after"}, rows, {0, 1, 3})) {
      lines.push_back(std::move(line));
    }
  }
  lines.emplace_back();
  lines.push_back(std::string("searched every valid 2-way partition (minimum cut)") +
                  (plan.optimal ? "" : " (not exhaustively)"));
  return lines;
}

template <typename T>
Json optional_json(const std::optional<T>& value) {
  return value ? Json(*value) : Json::null();
}

Json request_json(const PlanRequest& request) {
  Json dims = Json::object();
  for (const auto& [name, size] : request.dims) dims.set(name, Json(size));
  Json out = Json::object();
  if (request.device_server) {
    Json sweep = Json::array();
    for (double rate : request.sweep) sweep.push(Json(rate));
    out.set("device", request.device)
        .set("server", request.server)
        .set("bandwidth", Json(request.bandwidth.value_or(0)))
        .set("rtt", Json(request.rtt))
        .set("sweep", std::move(sweep));
  } else {
    out.set("stages", Json(std::uint64_t{request.stages}))
        .set("balance", request.balance)
        .set("profile", request.profile ? Json(*request.profile) : Json::null())
        .set("bandwidth", optional_json(request.bandwidth))
        .set("max_stage_params", optional_json(request.max_stage_params))
        .set("max_boundary_bytes", optional_json(request.max_boundary_bytes));
  }
  return out.set("batch", Json(request.batch)).set("dims", std::move(dims));
}

}  // namespace

std::vector<std::string> plan_table(const Plan& plan, const PlanRequest& request) {
  std::vector<std::string> lines =
      plan.kind == "device-server" ? format_device_server(plan, request) : format_pipeline(plan, request);
  if (!plan.unbound_symbols.empty()) {
    lines.push_back("symbols without a size (counted as 1; give --dim NAME=SIZE): " +
                    joined(plan.unbound_symbols, ", "));
  }
  for (const std::string& warning : plan.warnings) lines.push_back("warning: " + warning);
  for (std::string& line : lines) line = printable(line);
  return lines;
}

Json plan_json(const Plan& plan, const PlanRequest& request, double plan_seconds) {
  std::vector<std::string> at;
  Json cuts = Json::array();
  for (const PlanCut& cut : plan.cuts) {
    at.push_back(cut.spec);
    cuts.push(Json::object()
                  .set("spec", cut.spec)
                  .set("values", cut.values)
                  .set("crossing", value_list(cut.crossing))
                  .set("crossing_bytes", Json(cut.crossing_bytes))
                  .set("bytes_known", Json(cut.bytes_known)));
  }
  Json stages = Json::array();
  for (const StagePlan& stage : plan.stages) {
    stages.push(Json::object()
                    .set("first_layer", stage.first_layer)
                    .set("last_layer", stage.last_layer)
                    .set("node_count", Json(std::uint64_t{stage.node_count}))
                    .set("param_bytes", Json(stage.param_bytes))
                    .set("macs", Json(stage.macs))
                    .set("macs_known", Json(stage.macs_known))
                    .set("time_us", Json(stage.time_us))
                    .set("transfer_us", Json(stage.transfer_us))
                    .set("cost", Json(stage.cost)));
  }
  Json sweep = Json::array();
  for (const BandwidthRow& row : plan.sweep) {
    sweep.push(Json::object()
                   .set("bandwidth", Json(row.bandwidth))
                   .set("latency_s", Json(row.latency_s))
                   .set("placement", row.placement)
                   .set("cut_values", row.cut_values)
                   .set("crossing_bytes", Json(row.crossing_bytes)));
  }
  Json along = Json::array();
  for (const PositionCost& position : plan.along) {
    along.push(Json::object()
                   .set("node", position.node)
                   .set("layer", position.layer)
                   .set("op", position.op)
                   .set("cost", Json(position.cost))
                   .set("alive_bytes", Json(position.alive_bytes))
                   .set("alive_bytes_known", Json(position.alive_bytes_known)));
  }
  return Json::object()
      .set("model", request.model)
      .set("request", request_json(request))
      .set("at", at)
      .set("kind", plan.kind)
      .set("objective", plan.objective)
      .set("cost_unit", plan.cost_unit)
      .set("cuts", std::move(cuts))
      .set("stages", std::move(stages))
      .set("bottleneck", Json(plan.bottleneck))
      .set("ideal", Json(plan.ideal))
      .set("lower_bound", Json(plan.lower_bound))
      .set("optimal", Json(plan.optimal))
      .set("latency_s", Json(plan.latency_s))
      .set("placement", plan.placement)
      .set("sweep", std::move(sweep))
      .set("along", std::move(along))
      .set("unbound_symbols", plan.unbound_symbols)
      .set("warnings", plan.warnings)
      .set("plan_seconds", Json(plan_seconds));
}

}  // namespace modelcut::cli
