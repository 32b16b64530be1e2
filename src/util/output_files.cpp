// Safe output writing (see output_files.h).
#include "output_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mapped_file.h"
#include "modelcut/error.h"

namespace modelcut {
namespace fs = std::filesystem;

namespace {

// Beside `target`, hidden, keeping its extension (Keras saves only to
// *.keras); `attempt` tells names apart when one is taken.
fs::path temporary_sibling(const fs::path& target, int attempt) {
  std::string name = ".modelcut-" + std::to_string(::getpid());
  if (attempt > 0) name += "-" + std::to_string(attempt);
  return target.parent_path() / (name + "-" + target.filename().string());
}

// How many names temporary_sibling tries before giving up: a folder full of
// them means something else is wrong.
constexpr int kTemporaryAttempts = 100;

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

std::string kind_of(unsigned mode) { return S_ISLNK(mode) ? "a symbolic link" : describe_file_type(mode); }

constexpr const char* kOnlyFilesAndFolders = "; modelcut only replaces regular files and folders";

// Throws Error unless what is at `target` (not following a link) may be
// replaced by an output: nothing, a regular file, or a folder holding only
// regular files and folders on the same file system. Never a device, FIFO,
// socket or link, nor a folder holding one, nor a mount point's contents:
// `--force` replaces what modelcut could have written, nothing else.
void check_replaceable(const fs::path& target) {
  struct stat status {};
  if (::lstat(target.c_str(), &status) != 0) return;  // nothing there (or unreadable: the write will say)
  if (S_ISREG(status.st_mode)) return;
  if (!S_ISDIR(status.st_mode)) {
    fail("the output ", quoted(target.string()), " is ", kind_of(status.st_mode), kOnlyFilesAndFolders);
  }
  std::error_code error;
  for (fs::recursive_directory_iterator entry(target, error), end; !error && entry != end; entry.increment(error)) {
    struct stat inner {};
    if (::lstat(entry->path().c_str(), &inner) != 0) continue;  // gone meanwhile
    if (S_ISREG(inner.st_mode) || S_ISDIR(inner.st_mode)) {
      if (inner.st_dev == status.st_dev) continue;
      fail("the output directory ", quoted(target.string()), " holds ", quoted(entry->path().string()),
           ", another file system mounted there", kOnlyFilesAndFolders);
    }
    fail("the output directory ", quoted(target.string()), " holds ", quoted(entry->path().string()), ", ",
         kind_of(inner.st_mode), kOnlyFilesAndFolders);
  }
  if (error) fail("cannot replace ", quoted(target.string()), ": ", error.message());
}

// Renames `temporary` to `target`, after checking once more what is there:
// rename() would replace a device node or FIFO put there meanwhile.
void rename_into_place(const fs::path& temporary, const fs::path& target) {
  check_replaceable(target);
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) fail("cannot write ", quoted(target.string()), ": ", error.message());
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
  if (!fs::exists(fs::symlink_status(target, error))) return;
  struct stat status {};
  // What --force could not replace is refused as such, not as "exists, pass --force".
  if (::lstat(target.c_str(), &status) == 0 && !S_ISREG(status.st_mode) && !S_ISDIR(status.st_mode)) {
    check_replaceable(target);
  }
  if (!overwrite) {
    fail("the output ", quoted(target.string()), " already exists; remove it or pass --force to replace it");
  }
  check_replaceable(target);
}

TemporaryFile::TemporaryFile(const fs::path& target) : target_(target) {
  for (int attempt = 0; attempt < kTemporaryAttempts; ++attempt) {
    path_ = temporary_sibling(target, attempt);
    // NB: O_EXCL | O_NOFOLLOW: never opened through a link or a file planted
    // under the temporary name. 0666 less the umask, as for any new file.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) break;
  }
  fail("cannot write ", quoted(target.string()), ": ", std::strerror(errno));
}

TemporaryFile::~TemporaryFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

int TemporaryFile::release_fd() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void TemporaryFile::commit() {
  if (fd_ >= 0) {
    const int fd = release_fd();
    if (::close(fd) != 0) fail("cannot write ", quoted(target_.string()), ": ", std::strerror(errno));
  }
  rename_into_place(path_, target_);
  committed_ = true;
}

void TemporaryFile::keep() {
  if (fd_ >= 0) ::close(release_fd());
  committed_ = true;
}

void replace_file(const fs::path& temporary, const fs::path& target) { rename_into_place(temporary, target); }

void write_file_atomically(const fs::path& target, const std::function<bool(std::FILE*)>& write) {
  TemporaryFile temporary(target);
  std::FILE* file = ::fdopen(temporary.release_fd(), "wb");
  if (file == nullptr) fail("cannot write ", quoted(target.string()), ": ", std::strerror(errno));
  bool ok = false;
  try {
    ok = write(file);
  } catch (...) {
    std::fclose(file);
    throw;
  }
  const int saved_errno = errno;
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) fail("cannot write ", quoted(target.string()), ": ", std::strerror(saved_errno ? saved_errno : EIO));
  temporary.commit();
}

void write_file_atomically_to_fd(const fs::path& target, const std::function<bool(int)>& write) {
  write_file_atomically(target, [&](std::FILE* file) {
    // Nothing is buffered in `file` yet, so writing to its descriptor is safe.
    return std::fflush(file) == 0 && write(::fileno(file));
  });
}

fs::path make_staging_directory(const fs::path& target) {
  std::error_code error;
  if (!target.parent_path().empty() && !fs::is_directory(target.parent_path(), error)) {
    fail("cannot create ", quoted(target.string()), ": the folder ", quoted(target.parent_path().string()),
         " does not exist");
  }
  for (int attempt = 0; attempt < kTemporaryAttempts; ++attempt) {
    const fs::path staging = temporary_sibling(target, attempt);
    // mkdir fails on anything already there, a link included: never reused.
    if (::mkdir(staging.c_str(), 0777) == 0) return staging;
    if (errno != EEXIST) break;
  }
  fail("cannot create ", quoted(target.string()), ": ", std::strerror(errno));
}

void replace_directory(const fs::path& staging, const fs::path& target, bool overwrite) {
  std::error_code error;
  if (fs::exists(fs::symlink_status(target, error))) {
    if (!overwrite) {
      fail("the output ", quoted(target.string()), " already exists; remove it or pass --force to replace it");
    }
    check_replaceable(target);
    fs::remove_all(target, error);
    if (error) fail("cannot replace ", quoted(target.string()), ": ", error.message());
  }
  rename_into_place(staging, target);
}

StagedDirectory::StagedDirectory(fs::path target, bool overwrite)
    : target_(std::move(target)), staging_(make_staging_directory(target_)), overwrite_(overwrite) {}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code error;
  fs::remove_all(staging_, error);
}

void StagedDirectory::commit() {
  replace_directory(staging_, target_, overwrite_);
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
