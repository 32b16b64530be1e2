// stdout and stderr for the native command; see output.h.
#include "cli/output.h"

#include <unistd.h>

#include <cerrno>

namespace modelcut::cli {
namespace {

// Writes all of `text`; false when the descriptor is a closed pipe.
bool write_all(int descriptor, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = ::write(descriptor, text.data() + done, text.size() - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno != EPIPE;  // other errors: nothing better to do than go on
    }
    done += static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace

Output::~Output() {
  // Normally flushed by the command; here only after an error, quietly.
  if (!pending_.empty()) write_all(STDOUT_FILENO, pending_);
}

void Output::line(const std::string& text) {
  pending_ += text;
  pending_ += '\n';
  if (pending_.size() >= (64u << 10)) flush();
}

void Output::error_line(const std::string& text) { write_all(STDERR_FILENO, text + "\n"); }

void Output::flush() {
  std::string text;
  text.swap(pending_);
  if (!write_all(STDOUT_FILENO, text)) throw ClosedPipe{};
}

}  // namespace modelcut::cli
