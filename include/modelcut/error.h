// Errors that modelcut reports to its users.
//
// Bad input (a file that is not a model, an unknown name, a cut that leaves a
// part empty) is normal for a tool that reads files from strangers: it is
// reported as a modelcut::Error whose message is one line naming the file,
// node or tensor involved. Asserts are kept for our own bugs.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace modelcut {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds a one-line message from its arguments and throws it as an Error.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

// Quotes a name for an error message: 'name'.
inline std::string quoted(const std::string& name) { return "'" + name + "'"; }

}  // namespace modelcut
