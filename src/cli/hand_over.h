// Handing a command line to the Python package: the commands that run
// models (verify, run, profile, serve), plans drawn with matplotlib or
// timed by profiling first, SavedModels, and anything this executable does
// not parse itself, run as `PYTHON -I -c ...` with the interpreter
// replacing this process, so the user types one command. Isolated (-I):
// nothing is imported from the working directory, the user's
// site-packages or a PYTHON* variable.
#pragma once

#include <string>
#include <vector>

namespace modelcut::cli {

// Which Python: $MODELCUT_PYTHON; else python3 beside this executable (a
// virtual environment's bin/, where pip installs it); else the interpreter
// it was built for (MODELCUT_PYTHON_EXECUTABLE at build time). Empty when
// none exists.
std::string find_python();

// Replaces this process by Python running `modelcut ARGS`. Returns only
// when that cannot happen, after printing one line saying what to install;
// the result is then the exit code (2).
int hand_over(const std::vector<std::string>& words, const std::string& reason);

}  // namespace modelcut::cli
