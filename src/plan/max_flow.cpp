// Push-relabel minimum cut, first phase only: once no vertex that can still
// reach the sink holds excess, the vertices that cannot reach it form the
// source side of a minimum cut, and the excess that reached the sink is its
// capacity. Global relabelling (exact distances to the sink by a backwards
// breadth-first search, every `vertices` relabels) keeps the number of
// pushes near linear on the long, layered graphs that models give, where
// augmenting-path methods need a phase per layer.
#include "plan/max_flow.h"

#include <algorithm>

namespace modelcut {

MinCut::MinCut(std::uint32_t vertices) : out_(vertices) {}

void MinCut::add_edge(std::uint32_t from, std::uint32_t to, std::uint64_t capacity) {
  out_[from].push_back(static_cast<std::uint32_t>(edges_.size()));
  edges_.push_back(Edge{to, capacity});
  out_[to].push_back(static_cast<std::uint32_t>(edges_.size()));
  edges_.push_back(Edge{from, 0});
}

void MinCut::global_relabel() {
  const auto n = static_cast<std::uint32_t>(out_.size());
  std::fill(height_.begin(), height_.end(), n);
  height_[sink_] = 0;
  std::vector<std::uint32_t> queue{sink_};
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const std::uint32_t w = queue[head];
    for (std::uint32_t e : out_[w]) {
      // v -> w has residual capacity iff the reverse of w's edge to v has.
      const std::uint32_t v = edges_[e].to;
      if (edges_[e ^ 1].capacity > 0 && height_[v] == n && v != source_) {
        height_[v] = height_[w] + 1;
        queue.push_back(v);
      }
    }
  }
  height_[source_] = n;
  std::fill(next_edge_.begin(), next_edge_.end(), 0);
  relabels_since_global_ = 0;
}

void MinCut::push(std::uint32_t v, std::uint32_t e) {
  const std::uint32_t w = edges_[e].to;
  const std::uint64_t amount = std::min(excess_[v], edges_[e].capacity);
  edges_[e].capacity -= amount;
  edges_[e ^ 1].capacity += amount;
  excess_[v] -= amount;
  excess_[w] += amount;
  if (!queued_[w] && w != sink_ && w != source_) {
    queued_[w] = 1;
    active_.push_back(w);
  }
}

void MinCut::relabel(std::uint32_t v) {
  const auto n = static_cast<std::uint32_t>(out_.size());
  std::uint32_t lowest = n;
  for (std::uint32_t e : out_[v]) {
    if (edges_[e].capacity > 0) lowest = std::min(lowest, height_[edges_[e].to] + 1);
  }
  height_[v] = std::min(lowest, n);
  next_edge_[v] = 0;
  ++relabels_since_global_;
}

void MinCut::discharge(std::uint32_t v) {
  const auto n = static_cast<std::uint32_t>(out_.size());
  while (excess_[v] > 0 && height_[v] < n) {
    if (next_edge_[v] == out_[v].size()) {
      relabel(v);
      continue;
    }
    const std::uint32_t e = out_[v][next_edge_[v]];
    if (edges_[e].capacity > 0 && height_[v] == height_[edges_[e].to] + 1) {
      push(v, e);
    } else {
      ++next_edge_[v];
    }
  }
}

std::uint64_t MinCut::run(std::uint32_t source, std::uint32_t sink) {
  const auto n = static_cast<std::uint32_t>(out_.size());
  source_ = source;
  sink_ = sink;
  height_.assign(n, 0);
  excess_.assign(n, 0);
  next_edge_.assign(n, 0);
  queued_.assign(n, 0);
  global_relabel();
  for (std::uint32_t e : out_[source]) {
    if (edges_[e].capacity == 0) continue;
    excess_[source] += edges_[e].capacity;
    push(source, e);
  }
  while (active_head_ < active_.size()) {
    const std::uint32_t v = active_[active_head_++];
    queued_[v] = 0;
    if (relabels_since_global_ >= n) global_relabel();
    discharge(v);
    // Relabelled and still holding excess: back in the queue.
    if (excess_[v] > 0 && height_[v] < n && !queued_[v]) {
      queued_[v] = 1;
      active_.push_back(v);
    }
    // Keep the queue's storage bounded by compacting it now and then.
    if (active_head_ > n && active_head_ * 2 > active_.size()) {
      active_.erase(active_.begin(), active_.begin() + static_cast<long>(active_head_));
      active_head_ = 0;
    }
  }
  return excess_[sink];
}

std::vector<char> MinCut::source_side() const {
  // Vertices that reach the sink, found backwards from it.
  std::vector<char> reaches(out_.size(), 0);
  std::vector<std::uint32_t> queue{sink_};
  reaches[sink_] = 1;
  for (std::size_t head = 0; head < queue.size(); ++head) {
    for (std::uint32_t e : out_[queue[head]]) {
      const std::uint32_t v = edges_[e].to;
      if (edges_[e ^ 1].capacity > 0 && !reaches[v]) {
        reaches[v] = 1;
        queue.push_back(v);
      }
    }
  }
  std::vector<char> side(out_.size());
  for (std::size_t v = 0; v < side.size(); ++v) side[v] = !reaches[v];
  return side;
}

}  // namespace modelcut
