// Maximum flow / minimum s-t cut on a directed graph with integer
// capacities (Dinic's algorithm, with an iterative search so that long
// chains of nodes cannot exhaust the stack). The device/server planner
// solves its placement as a minimum cut with it.
#pragma once

#include <cstdint>
#include <vector>

namespace modelcut {

class MaxFlow {
 public:
  explicit MaxFlow(std::uint32_t vertices);
  void add_edge(std::uint32_t from, std::uint32_t to, std::uint64_t capacity);
  // The value of a maximum flow from source to sink (= a minimum cut's
  // capacity). Call once.
  std::uint64_t run(std::uint32_t source, std::uint32_t sink);
  // After run(): the vertices still reachable from the source in the
  // residual graph, the source side of a minimum cut (the smallest one).
  std::vector<char> source_side(std::uint32_t source) const;

 private:
  bool build_levels(std::uint32_t source, std::uint32_t sink);
  std::uint64_t augment(std::uint32_t source, std::uint32_t sink);

  struct Edge {
    std::uint32_t to;
    std::uint64_t capacity;  // residual
  };
  std::vector<Edge> edges_;  // edge i's reverse is i ^ 1
  std::vector<std::vector<std::uint32_t>> out_;
  std::vector<std::int32_t> level_;
  std::vector<std::uint32_t> next_edge_;
};

}  // namespace modelcut
