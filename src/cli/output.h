// Where the native command writes: stdout buffered and written with write(2)
// so that a reader that went away (`modelcut inspect m.onnx | head`) is
// noticed as EPIPE and ends the command quietly with 141, as the Python
// command does; stderr line by line, unbuffered, as Python's print does.
#pragma once

#include <string>

namespace modelcut::cli {

// Thrown when stdout is a pipe whose reader has closed it.
struct ClosedPipe {};

class Output {
 public:
  ~Output();
  void line(const std::string& text);        // to stdout, with a newline
  void error_line(const std::string& text);  // to stderr, with a newline
  void flush();                              // throws ClosedPipe
  void discard() { pending_.clear(); }       // after Ctrl-C: what was not written stays unwritten

 private:
  std::string pending_;
};

}  // namespace modelcut::cli
