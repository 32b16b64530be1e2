// Safe output writing (see output_files.h).
#include "output_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "modelcut/error.h"

namespace modelcut {
namespace fs = std::filesystem;

namespace {

fs::path temporary_sibling(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".modelcut-" + std::to_string(::getpid()));
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error) && !error;
}

// Absolute, with symbolic links resolved as far as the path exists.
fs::path resolved(const fs::path& path) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  if (error) return path.lexically_normal();
  const fs::path canonical = fs::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal() : canonical;
}

bool lies_inside(const fs::path& file, const fs::path& folder) {
  const fs::path relative = resolved(file).lexically_relative(resolved(folder));
  return !relative.empty() && *relative.begin() != "..";
}

}  // namespace

void check_output_path(const fs::path& target, const std::vector<fs::path>& inputs, bool overwrite) {
  std::error_code error;
  // A directory is replaced as a whole: it must hold none of the inputs.
  const bool directory = fs::is_directory(target, error);
  for (const fs::path& input : inputs) {
    if (same_file(target, input)) {
      fail("the output ", quoted(target.string()), " is the input ", quoted(input.string()),
           "; modelcut never replaces a file it reads, even with --force; choose another path");
    }
    if (directory && lies_inside(input, target)) {
      fail("the output directory ", quoted(target.string()), " holds the input ", quoted(input.string()),
           "; modelcut never deletes a file it reads, even with --force; choose another directory");
    }
  }
  if (fs::exists(fs::symlink_status(target, error)) && !overwrite) {
    fail("the output ", quoted(target.string()), " already exists; remove it or pass --force to replace it");
  }
}

void write_file_atomically(const fs::path& target, const std::function<bool(std::FILE*)>& write) {
  const fs::path temporary = temporary_sibling(target);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) fail("cannot write ", quoted(target.string()), ": ", std::strerror(errno));
  bool ok = false;
  try {
    ok = write(file);
  } catch (...) {
    std::fclose(file);
    std::remove(temporary.c_str());
    throw;
  }
  const int saved_errno = errno;
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) {
    std::remove(temporary.c_str());
    fail("cannot write ", quoted(target.string()), ": ", std::strerror(saved_errno ? saved_errno : EIO));
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    std::remove(temporary.c_str());
    fail("cannot write ", quoted(target.string()), ": ", error.message());
  }
}

void write_file_atomically_to_fd(const fs::path& target, const std::function<bool(int)>& write) {
  write_file_atomically(target, [&](std::FILE* file) {
    // Nothing is buffered in `file` yet, so writing to its descriptor is safe.
    return std::fflush(file) == 0 && write(::fileno(file));
  });
}

StagedDirectory::StagedDirectory(fs::path target, bool overwrite)
    : target_(std::move(target)), staging_(temporary_sibling(target_)), overwrite_(overwrite) {
  std::error_code error;
  if (!target_.parent_path().empty() && !fs::is_directory(target_.parent_path(), error)) {
    fail("cannot create ", quoted(target_.string()), ": the folder ", quoted(target_.parent_path().string()),
         " does not exist");
  }
  fs::remove_all(staging_, error);
  if (!fs::create_directory(staging_, error)) {
    fail("cannot create ", quoted(target_.string()), ": ", error.message());
  }
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code error;
  fs::remove_all(staging_, error);
}

void StagedDirectory::commit() {
  std::error_code error;
  if (overwrite_ && fs::exists(fs::symlink_status(target_, error))) fs::remove_all(target_, error);
  fs::rename(staging_, target_, error);
  if (error) fail("cannot create ", quoted(target_.string()), ": ", error.message());
  committed_ = true;
}

NewFiles::~NewFiles() {
  if (kept_) return;
  std::error_code error;
  for (const fs::path& path : paths_) fs::remove(path, error);
}

void NewFiles::claim(const fs::path& path, const std::vector<fs::path>& inputs, bool overwrite) {
  check_output_path(path, inputs, overwrite);
  paths_.push_back(path);
}

}  // namespace modelcut
