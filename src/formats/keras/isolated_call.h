// Running a call into a library that trusts its input (libhdf5 1.10.8 on a
// damaged file) in a child process, with a time and memory limit, so that
// whatever the library does there (crash, endless loop, huge allocation)
// ends in a clean error in the caller instead of taking the tool down.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace modelcut {

struct IsolationLimits {
  std::chrono::milliseconds time{5000};
  std::size_t max_result_bytes = std::size_t{256} << 20;
  // Address space the child may add to what it inherits (not applied under
  // AddressSanitizer, whose shadow memory needs far more).
  std::size_t extra_memory_bytes = std::size_t{1} << 30;
};

// Calls `work` in a forked child and returns the bytes it produced, or
// std::nullopt (with `why` set) when the child crashed, ran out of time or
// memory, or returned too much. `work` returning std::nullopt means the
// call failed cleanly: that is returned as std::nullopt with `why` empty.
// The child ends with _exit: no destructors or exit handlers run there.
// Each call is a fork, whose cost grows with the caller's address space (a
// Python process that imported TensorFlow has gigabytes): batch the work
// into few calls (hdf5_attribute_walk.h walks a whole file in one).
std::optional<std::string> call_isolated(const std::function<std::optional<std::string>()>& work, std::string& why,
                                         const IsolationLimits& limits = {});

}  // namespace modelcut
