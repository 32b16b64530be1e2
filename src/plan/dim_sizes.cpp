// Sizes of symbolic dimensions for costs and crossing bytes: the user's
// --batch and --dim bindings applied to one dataflow.
#include <algorithm>

#include "modelcut/plan.h"
#include "util/checked_math.h"

namespace modelcut {

DimSizes::DimSizes(const Dataflow& dataflow, const DimBindings& bindings) : sizes_(bindings.symbols) {
  // The batch is whatever the graph inputs call their leading dimension
  // ("batch", "N", "s77" from dynamo, ...); a named binding wins.
  for (ValueId id : dataflow.graph_inputs()) {
    const TensorInfo& info = dataflow.value(id).info;
    if (!info.has_shape || info.dims.empty()) continue;
    const Dim& leading = info.dims.front();
    if (!leading.is_fixed() && !leading.symbol.empty()) sizes_.emplace(leading.symbol, bindings.batch);
  }
}

std::uint64_t DimSizes::size_of(const Dim& dim) const {
  if (dim.is_fixed()) return static_cast<std::uint64_t>(dim.size);
  const auto found = sizes_.find(dim.symbol);
  if (found != sizes_.end()) return found->second;
  unbound_[dim.symbol.empty() ? "?" : dim.symbol] = true;
  return 1;
}

std::optional<std::uint64_t> DimSizes::elements(const TensorInfo& info) const {
  if (!info.has_shape) return std::nullopt;
  std::uint64_t count = 1;
  for (const Dim& dim : info.dims) {
    const auto next = checked_mul(count, size_of(dim));
    if (!next) return std::nullopt;
    count = *next;
  }
  return count;
}

std::optional<std::uint64_t> DimSizes::bytes(const TensorInfo& info) const {
  if (!info.known || info.element_bits == 0) return std::nullopt;
  const auto count = elements(info);
  if (!count) return std::nullopt;
  return packed_bytes(*count, static_cast<std::uint64_t>(info.element_bits));
}

std::vector<std::string> DimSizes::unbound() const {
  std::vector<std::string> names;
  for (const auto& entry : unbound_) names.push_back(entry.first);
  return names;
}

}  // namespace modelcut
