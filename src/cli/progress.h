// The progress bar of writing parts, as cli.py's ProgressBar draws it: one
// line on a terminal's stderr, for parts of 64 MiB and more; silent when
// stderr is not a terminal. split and plan --split use it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "cli/python_text.h"

namespace modelcut::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  ~ProgressBar() {
    if (shown_) std::fputs("\n", stderr);
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void operator()(std::size_t part, std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total < (64u << 20)) return;
    constexpr std::uint64_t width = 30;
    const std::uint64_t filled = width * done / (total ? total : 1);
    std::fprintf(stderr, "\rwriting part %zu: [%s%s] %s / %s  ", part + 1, std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), format_bytes(done).c_str(), format_bytes(total).c_str());
    std::fflush(stderr);
    shown_ = true;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace modelcut::cli
