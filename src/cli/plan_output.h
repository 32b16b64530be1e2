// A plan as `modelcut plan` prints it: the tables of modelcut.plan.table
// (stages, cuts, summary; for a device/server plan the best plan at each
// bandwidth) and the JSON of Plan.to_dict(), so that the native executable
// and the Python command print the same plan byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/json_output.h"
#include "modelcut/plan.h"

namespace modelcut::cli {

// What was asked, as the Python package's Plan.request records it.
struct PlanRequest {
  std::string model;  // the path as given
  bool device_server = false;
  // Pipeline plans.
  std::size_t stages = 2;
  std::string balance = "params";
  std::optional<std::string> profile;
  std::optional<double> bandwidth;  // also the link of a device/server plan
  std::optional<std::uint64_t> max_stage_params, max_boundary_bytes;
  // Device/server plans.
  std::string device, server;
  double rtt = 0;
  std::vector<double> sweep;
  // Both.
  std::uint64_t batch = 1;
  std::vector<std::pair<std::string, std::uint64_t>> dims;  // in the order given
};

// The plan's tables: the lines of modelcut.plan.table.format_plan, each
// printable (names from the file escaped, so every row stays one line).
std::vector<std::string> plan_table(const Plan& plan, const PlanRequest& request);

// Plan.to_dict(): model, request, at, the planner's fields, plan_seconds.
Json plan_json(const Plan& plan, const PlanRequest& request, double plan_seconds);

}  // namespace modelcut::cli
