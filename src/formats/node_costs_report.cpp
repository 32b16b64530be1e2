// What every node of a model costs, as a list for reports and the Python
// binding: the format adapter's SourceModel::node_costs in topological order.
#include "source_model.h"

namespace modelcut {

std::vector<NodeCostSummary> node_costs_report(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints, const DimBindings& dims) {
  const std::unique_ptr<SourceModel> model = open_source_model(path, type_hints);
  const Dataflow& dataflow = model->dataflow();
  const std::vector<NodeCost> costs = model->node_costs(DimSizes(dataflow, dims));
  std::vector<NodeCostSummary> report;
  report.reserve(costs.size());
  for (NodeId id : dataflow.topological_order()) {
    report.push_back(NodeCostSummary{dataflow.node(id).name, dataflow.node(id).op, costs[id]});
  }
  return report;
}

}  // namespace modelcut
