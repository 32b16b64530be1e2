// A call run in a child process with limits (see isolated_call.h).
//
// NB: fork() in a process with other threads copies only this thread; the
// child then calls nothing but `work` (libhdf5, whose lock this thread
// holds, and malloc, which glibc makes safe across fork) and _exit.
#include "isolated_call.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define MODELCUT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MODELCUT_UNDER_ASAN 1
#endif
#endif

#ifdef MODELCUT_UNDER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace modelcut {
namespace {

constexpr char kDone = 'y';
constexpr char kFailed = 'n';

void limit_memory(std::size_t extra_bytes) {
#ifndef MODELCUT_UNDER_ASAN
  long pages = 0;
  if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
    std::fclose(statm);
  }
  if (pages <= 0) return;
  const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + extra_bytes;
  const rlimit value{limit, limit};
  ::setrlimit(RLIMIT_AS, &value);
#else
  (void)extra_bytes;
#endif
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

[[noreturn]] void run_child(int fd, const std::function<std::optional<std::string>()>& work,
                            const IsolationLimits& limits) {
  // A crash in here is reported by the caller. The host's crash handlers
  // (Python's faulthandler, a fuzzer's crash callback) must not run in the
  // child and report it as their own process's crash.
  for (int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::signal(signal_number, SIG_DFL);
#ifdef MODELCUT_UNDER_ASAN
  __sanitizer_set_death_callback(nullptr);
#endif
  limit_memory(limits.extra_memory_bytes);
  std::optional<std::string> result;
  try {
    result = work();
  } catch (...) {
    result.reset();
  }
  const char status = result ? kDone : kFailed;
  const bool ok = write_all(fd, &status, 1) && (!result || write_all(fd, result->data(), result->size()));
  ::_exit(ok ? 0 : 1);
}

}  // namespace

std::optional<std::string> call_isolated(const std::function<std::optional<std::string>()>& work, std::string& why,
                                         const IsolationLimits& limits) {
  why.clear();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    why = std::string("cannot start a reader process: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t child = ::fork();
  if (child < 0) {
    why = std::string("cannot start a reader process: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return std::nullopt;
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    run_child(pipe_fds[1], work, limits);
  }
  ::close(pipe_fds[1]);

  std::string bytes;
  bool timed_out = false, too_large = false;
  const auto deadline = std::chrono::steady_clock::now() + limits.time;
  char buffer[1 << 16];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd waiting{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above ends the wait
    const ssize_t got = ready < 0 ? -1 : ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
    if (bytes.size() > limits.max_result_bytes + 1) {
      too_large = true;
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (timed_out || too_large) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  if (timed_out) {
    why = "it did not finish within " + std::to_string(limits.time.count() / 1000) + " s";
  } else if (too_large) {
    why = "it produced more than " + std::to_string(limits.max_result_bytes >> 20) + " MiB";
  } else if (WIFSIGNALED(status)) {
    why = std::string("it crashed (") + ::strsignal(WTERMSIG(status)) + ")";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bytes.empty()) {
    why = "it failed (out of memory?)";
  } else if (bytes[0] == kFailed) {
    return std::nullopt;  // a clean failure: `why` stays empty
  } else {
    return bytes.substr(1);
  }
  return std::nullopt;
}

}  // namespace modelcut
