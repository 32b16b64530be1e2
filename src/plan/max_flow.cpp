// Dinic's maximum flow: breadth-first levels, then blocking flows along
// level-increasing paths found by an explicit-stack search. O(V^2 E) in
// theory; on the layered, nearly series-parallel graphs of models it takes
// a handful of phases.
#include "plan/max_flow.h"

#include <algorithm>
#include <deque>
#include <limits>

namespace modelcut {

MaxFlow::MaxFlow(std::uint32_t vertices) : out_(vertices) {}

void MaxFlow::add_edge(std::uint32_t from, std::uint32_t to, std::uint64_t capacity) {
  out_[from].push_back(static_cast<std::uint32_t>(edges_.size()));
  edges_.push_back(Edge{to, capacity});
  out_[to].push_back(static_cast<std::uint32_t>(edges_.size()));
  edges_.push_back(Edge{from, 0});
}

bool MaxFlow::build_levels(std::uint32_t source, std::uint32_t sink) {
  level_.assign(out_.size(), -1);
  level_[source] = 0;
  std::deque<std::uint32_t> queue{source};
  while (!queue.empty()) {
    const std::uint32_t v = queue.front();
    queue.pop_front();
    for (std::uint32_t e : out_[v]) {
      if (edges_[e].capacity > 0 && level_[edges_[e].to] < 0) {
        level_[edges_[e].to] = level_[v] + 1;
        queue.push_back(edges_[e].to);
      }
    }
  }
  return level_[sink] >= 0;
}

std::uint64_t MaxFlow::augment(std::uint32_t source, std::uint32_t sink) {
  std::uint64_t total = 0;
  next_edge_.assign(out_.size(), 0);
  std::vector<std::uint32_t> path;  // edges from the source
  std::uint32_t v = source;
  while (true) {
    if (v == sink) {
      std::uint64_t pushed = std::numeric_limits<std::uint64_t>::max();
      for (std::uint32_t e : path) pushed = std::min(pushed, edges_[e].capacity);
      std::size_t first_saturated = path.size();
      for (std::size_t i = 0; i < path.size(); ++i) {
        edges_[path[i]].capacity -= pushed;
        edges_[path[i] ^ 1].capacity += pushed;
        if (edges_[path[i]].capacity == 0 && first_saturated == path.size()) first_saturated = i;
      }
      total += pushed;
      // Resume from the tail of the first saturated edge.
      path.resize(first_saturated);
      v = path.empty() ? source : edges_[path.back()].to;
      continue;
    }
    bool advanced = false;
    for (; next_edge_[v] < out_[v].size(); ++next_edge_[v]) {
      const std::uint32_t e = out_[v][next_edge_[v]];
      if (edges_[e].capacity > 0 && level_[edges_[e].to] == level_[v] + 1) {
        path.push_back(e);
        v = edges_[e].to;
        advanced = true;
        break;
      }
    }
    if (advanced) continue;
    if (v == source) break;
    level_[v] = -1;  // a dead end in this phase
    path.pop_back();
    v = path.empty() ? source : edges_[path.back()].to;
    ++next_edge_[v];
  }
  return total;
}

std::uint64_t MaxFlow::run(std::uint32_t source, std::uint32_t sink) {
  std::uint64_t total = 0;
  while (build_levels(source, sink)) total += augment(source, sink);
  return total;
}

std::vector<char> MaxFlow::source_side(std::uint32_t source) const {
  std::vector<char> reached(out_.size(), 0);
  std::vector<std::uint32_t> pending{source};
  reached[source] = 1;
  while (!pending.empty()) {
    const std::uint32_t v = pending.back();
    pending.pop_back();
    for (std::uint32_t e : out_[v]) {
      if (edges_[e].capacity > 0 && !reached[edges_[e].to]) {
        reached[edges_[e].to] = 1;
        pending.push_back(edges_[e].to);
      }
    }
  }
  return reached;
}

}  // namespace modelcut
