// Writing outputs safely: a failure never leaves a half-written file behind,
// an existing output is replaced only when the user asked for it, and an
// input file is never overwritten. Files are written under a temporary name
// beside their destination and renamed into place once complete.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

namespace modelcut {

// Throws Error when `target` is one of `inputs`, or is a directory that holds
// one, whatever `overwrite` says; or when it exists and `overwrite` is false.
// `inputs` must list every file the operation reads (a model's external data
// and weight files too, see SourceModel::input_files), not only the model.
void check_output_path(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs,
                       bool overwrite);

// Calls `write` with a file open for writing, then renames it to `target`.
// `write` returns false on a write error. Throws Error naming `target` on
// failure, leaving nothing at `target`'s temporary name.
void write_file_atomically(const std::filesystem::path& target, const std::function<bool(std::FILE*)>& write);

// The same, handing `write` a file descriptor (for kernel-side copies).
void write_file_atomically_to_fd(const std::filesystem::path& target, const std::function<bool(int)>& write);

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
