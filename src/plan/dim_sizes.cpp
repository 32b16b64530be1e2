// Sizes of symbolic dimensions for costs and crossing bytes: the user's
// --batch and --dim bindings applied to one dataflow.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "modelcut/plan.h"
#include "util/checked_math.h"

namespace modelcut {
namespace {

// Exporters name derived dimensions by their formula: torch.export writes
// "16*batch" for a reshape that folds a fixed 16 into the batch, or
// "((seq - 1)//2) + 1" after a strided layer. Such a symbol is evaluated
// with the bound sizes: integers, names, + - * // % and parentheses, in
// checked arithmetic; anything else (or a name not bound) is no size.
class DimExpression {
 public:
  DimExpression(const std::string& text, const std::map<std::string, std::uint64_t>& sizes)
      : text_(text), sizes_(sizes) {}

  std::optional<std::uint64_t> evaluate() {
    constexpr std::size_t kMaxLength = 256;
    if (text_.size() > kMaxLength) return std::nullopt;
    const auto value = sum(0);
    skip_spaces();
    if (!value || position_ != text_.size() || *value < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*value);
  }

 private:
  using Number = std::optional<std::int64_t>;
  static constexpr int kMaxDepth = 32;

  void skip_spaces() {
    while (position_ < text_.size() && text_[position_] == ' ') ++position_;
  }
  bool take(const char* token) {
    skip_spaces();
    const std::string_view rest = std::string_view(text_).substr(position_);
    const std::string_view wanted(token);
    if (rest.substr(0, wanted.size()) != wanted) return false;
    position_ += wanted.size();
    return true;
  }

  Number sum(int depth) {
    Number value = product(depth);
    while (value) {
      if (take("+")) {
        const Number next = product(depth);
        value = next ? checked_add(*value, *next) : std::nullopt;
      } else if (take("-")) {
        const Number next = product(depth);
        value = next && *next != INT64_MIN ? checked_add(*value, -*next) : std::nullopt;
      } else {
        break;
      }
    }
    return value;
  }

  Number product(int depth) {
    Number value = factor(depth);
    while (value) {
      if (take("*")) {
        const Number next = factor(depth);
        value = next ? checked_mul(*value, *next) : std::nullopt;
      } else if (take("//") || take("%")) {
        const bool modulo = text_[position_ - 1] == '%';
        const Number next = factor(depth);
        // Sizes are non-negative: floor division and truncation agree.
        if (!next || *next <= 0 || *value < 0) return std::nullopt;
        value = modulo ? *value % *next : *value / *next;
      } else {
        break;
      }
    }
    return value;
  }

  Number factor(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    skip_spaces();
    if (take("(")) {
      const Number value = sum(depth + 1);
      return take(")") ? value : std::nullopt;
    }
    if (position_ >= text_.size()) return std::nullopt;
    const char first = text_[position_];
    if (std::isdigit(static_cast<unsigned char>(first))) {
      std::int64_t value = 0;
      while (position_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[position_]))) {
        const auto next = checked_mul(value, std::int64_t{10});
        if (!next) return std::nullopt;
        const auto digit = checked_add(*next, static_cast<std::int64_t>(text_[position_++] - '0'));
        if (!digit) return std::nullopt;
        value = *digit;
      }
      return value;
    }
    if (std::isalpha(static_cast<unsigned char>(first)) || first == '_') {
      const std::size_t begin = position_;
      while (position_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[position_])) || text_[position_] == '_')) {
        ++position_;
      }
      const auto found = sizes_.find(text_.substr(begin, position_ - begin));
      if (found == sizes_.end() || found->second > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(found->second);
    }
    return std::nullopt;
  }

  const std::string& text_;
  const std::map<std::string, std::uint64_t>& sizes_;
  std::size_t position_ = 0;
};

}  // namespace

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
  if (auto value = DimExpression(dim.symbol, sizes_).evaluate()) return *value;
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
