// Running the Python command in this process's place; see hand_over.h.
#include "cli/hand_over.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "modelcut/error.h"

namespace modelcut::cli {
namespace {

namespace fs = std::filesystem;

bool is_executable_file(const std::string& path) {
  struct stat status {};
  return !path.empty() && ::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// Run by the interpreter as `-c`: a package that cannot be imported (not
// installed, or numpy or onnx missing) ends in one line that says what to
// install, not in a traceback.
// NB: the interpreter runs isolated (-I, Python 3.4+): with a bare `-c` it
// would put the working directory first on sys.path, and a numpy.py or a
// modelcut/ folder there (in a downloaded model's folder, say) would be
// imported and run; -I also leaves out the user's site-packages and the
// PYTHON* variables (PYTHONPATH, PYTHONSTARTUP, ...), which could do the same.
constexpr const char* kBootstrap =
    "import sys\n"
    "try:\n"
    "    from modelcut.cli import main\n"
    "except ImportError as error:\n"
    "    command = ' '.join(word for word in sys.argv[1:2])\n"
    "    print(f'modelcut: error: `modelcut {command}` needs the modelcut Python package, which this '\n"
    "          f'Python ({sys.executable}) cannot import ({error}): pip install modelcut', file=sys.stderr)\n"
    "    sys.exit(2)\n"
    "sys.exit(main(sys.argv[1:]))\n";

}  // namespace

std::string find_python() {
  if (const char* chosen = std::getenv("MODELCUT_PYTHON"); chosen != nullptr && *chosen != '\0') return chosen;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    for (const char* name : {"python3", "python"}) {
      const fs::path beside = self.parent_path() / name;
      if (is_executable_file(beside.string())) return beside.string();
    }
  }
#ifdef MODELCUT_PYTHON_EXECUTABLE
  if (is_executable_file(MODELCUT_PYTHON_EXECUTABLE)) return MODELCUT_PYTHON_EXECUTABLE;
#endif
  return "";
}

int hand_over(const std::vector<std::string>& words, const std::string& reason) {
  const std::string command = words.empty() ? "" : " " + printable(words.front());
  const std::string python = find_python();
  if (python.empty()) {
    std::fprintf(stderr,
                 "modelcut: error: `modelcut%s` needs the modelcut Python package (%s); this executable "
                 "splits, inspects, merges and plans on its own: pip install modelcut, or set MODELCUT_PYTHON to a "
                 "Python that has it\n",
                 command.c_str(), reason.c_str());
    return 2;
  }
  std::vector<std::string> argv_text = {python, "-I", "-c", kBootstrap};
  argv_text.insert(argv_text.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (std::string& word : argv_text) argv.push_back(word.data());
  argv.push_back(nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // as a freshly started Python expects it
  ::execv(python.c_str(), argv.data());
  const int reason_code = errno;
  std::fprintf(stderr, "modelcut: error: `modelcut%s` needs Python, and '%s' could not be run (%s)\n", command.c_str(),
               printable(python, true).c_str(), std::strerror(reason_code));
  return 2;
}

}  // namespace modelcut::cli
