// Writing outputs safely: a failure never leaves a half-written file behind,
// an existing output is replaced only when the user asked for it, an input
// file is never overwritten, and what is replaced is only ever a regular file
// or a folder of them (never a device, FIFO, socket or link). Files are
// written under a temporary name beside their destination and renamed into
// place once complete. Python's writers use the same functions (bindings.cpp,
// python/modelcut/outputs.py).
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

namespace modelcut {

// Throws Error when `target` is one of `inputs`, or is a directory that holds
// one, whatever `overwrite` says; when it is anything but a regular file or a
// directory (a link too: it is not followed, and not replaced); when it exists
// and `overwrite` is false; or, with `overwrite`, when it is a directory
// holding anything but regular files and directories of its own file system.
// `inputs` must list every file the operation reads (a model's external data
// and weight files too, see SourceModel::input_files), not only the model.
void check_output_path(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs,
                       bool overwrite);

// A new file beside `target`, created under a hidden temporary name that
// nothing else had (never through a link); removed by the destructor unless
// commit() renamed it to `target`, after checking again that what is there
// may be replaced.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::filesystem::path& target);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Hands the open descriptor over to the caller, who closes it before commit().
  int release_fd();
  void commit();
  // Closes the file and leaves it under its temporary name, for a writer
  // that renames it later with replace_file (or removes it).
  void keep();

 private:
  std::filesystem::path target_;
  std::filesystem::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Renames a complete `temporary` (beside `target`) to `target`, checking what
// is there first as check_output_path does. For writers that cannot use
// TemporaryFile (Python's, through bindings.cpp).
void replace_file(const std::filesystem::path& temporary, const std::filesystem::path& target);

// Calls `write` with a file open for writing, then renames it to `target`.
// `write` returns false on a write error. Throws Error naming `target` on
// failure, leaving nothing at `target`'s temporary name.
void write_file_atomically(const std::filesystem::path& target, const std::function<bool(std::FILE*)>& write);

// The same, handing `write` a file descriptor (for kernel-side copies).
void write_file_atomically_to_fd(const std::filesystem::path& target, const std::function<bool(int)>& write);

// A new empty directory beside `target` under a hidden temporary name.
std::filesystem::path make_staging_directory(const std::filesystem::path& target);

// Moves the complete directory `staging` to `target`; an existing `target` is
// removed first, with `overwrite` only, and only if check_output_path would
// let it be replaced.
void replace_directory(const std::filesystem::path& staging, const std::filesystem::path& target, bool overwrite);

// A directory filled under a temporary name and renamed into place by
// commit(); removed by the destructor if never committed.
class StagedDirectory {
 public:
  StagedDirectory(std::filesystem::path target, bool overwrite);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::filesystem::path& staging() const { return staging_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Files written one by one into an existing folder (beside an input), all or
// none: the destructor removes them unless keep() was called.
class NewFiles {
 public:
  NewFiles() = default;
  ~NewFiles();
  NewFiles(const NewFiles&) = delete;
  NewFiles& operator=(const NewFiles&) = delete;

  // Throws Error when `path` exists (unless overwrite) or is one of `inputs`;
  // then remembers it for removal.
  void claim(const std::filesystem::path& path, const std::vector<std::filesystem::path>& inputs, bool overwrite);
  void keep() { kept_ = true; }

 private:
  std::vector<std::filesystem::path> paths_;
  bool kept_ = false;
};

}  // namespace modelcut
