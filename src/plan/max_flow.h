// Minimum s-t cut on a directed graph with integer capacities, by
// push-relabel (FIFO selection, periodic global relabelling), iterative
// throughout so that long chains of nodes cannot exhaust the stack. The
// device/server planner solves its placement as a minimum cut with it.
#pragma once

#include <cstdint>
#include <vector>

namespace modelcut {

class MinCut {
 public:
  explicit MinCut(std::uint32_t vertices);
  void add_edge(std::uint32_t from, std::uint32_t to, std::uint64_t capacity);
  // The capacity of a minimum cut between source and sink. The sum of the
  // capacities leaving the source must fit in 64 bits. Call once.
  std::uint64_t run(std::uint32_t source, std::uint32_t sink);
  // After run(): the source side of a minimum cut, every vertex from which
  // the sink cannot be reached in the residual graph (the largest such side).
  std::vector<char> source_side() const;

 private:
  void global_relabel();
  void discharge(std::uint32_t v);
  void push(std::uint32_t v, std::uint32_t edge);
  void relabel(std::uint32_t v);

  struct Edge {
    std::uint32_t to;
    std::uint64_t capacity;  // residual
  };
  std::vector<Edge> edges_;  // edge i's reverse is i ^ 1
  std::vector<std::vector<std::uint32_t>> out_;
  std::uint32_t source_ = 0, sink_ = 0;
  std::vector<std::uint32_t> height_;
  std::vector<std::uint64_t> excess_;
  std::vector<std::uint32_t> next_edge_;
  std::vector<std::uint32_t> active_;  // FIFO, read from active_head_
  std::size_t active_head_ = 0;
  std::vector<char> queued_;
  std::size_t relabels_since_global_ = 0;
};

}  // namespace modelcut
