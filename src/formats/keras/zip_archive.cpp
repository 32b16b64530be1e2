// Zip archives with libzip (see zip_archive.h).
#include "zip_archive.h"

#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "modelcut/error.h"

namespace modelcut::keras {
namespace {

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipFile = std::unique_ptr<zip_file_t, ZipFileCloser>;

}  // namespace

ZipReader::ZipReader(const std::filesystem::path& path) : path_(path) {
  int error_code = 0;
  archive_ = zip_open(path.c_str(), ZIP_RDONLY, &error_code);
  if (archive_ == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, error_code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail(quoted(path.string()), ": not a readable zip archive (", message, ")");
  }
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(archive_);
}

bool ZipReader::has(const std::string& name) const { return zip_name_locate(archive_, name.c_str(), 0) >= 0; }

std::optional<std::uint64_t> ZipReader::stored_size(const std::string& name) const {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat(archive_, name.c_str(), 0, &stat) != 0) return std::nullopt;
  const zip_uint64_t needed = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  if ((stat.valid & needed) != needed || stat.comp_method != ZIP_CM_STORE || stat.encryption_method != ZIP_EM_NONE ||
      stat.comp_size != stat.size) {
    return std::nullopt;
  }
  return stat.size;
}

// Sizes in the archive's directory are what the file claims; every limit
// below is enforced on the bytes actually decompressed as well, so that an
// entry whose header lies stops at its limit.
std::string ZipReader::read(const std::string& name, std::uint64_t max_bytes) const {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat(archive_, name.c_str(), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE)) {
    fail(quoted(path_.string()), ": the archive has no ", name);
  }
  auto too_large = [&](std::uint64_t size) {
    fail(quoted(path_.string()), ": ", name, " is ", size, " bytes or more, more than the ", max_bytes, " accepted");
  };
  if (stat.size > max_bytes) too_large(stat.size);
  ZipFile file(zip_fopen(archive_, name.c_str(), 0));
  if (!file) fail(quoted(path_.string()), ": cannot read ", name, " (", zip_strerror(archive_), ")");
  std::string data;
  std::vector<char> buffer(1 << 16);
  for (;;) {
    const zip_int64_t got = zip_fread(file.get(), buffer.data(), buffer.size());
    if (got < 0) fail(quoted(path_.string()), ": cannot read ", name, " (damaged archive?)");
    if (got == 0) break;
    if (data.size() + static_cast<std::uint64_t>(got) > max_bytes)
      too_large(data.size() + static_cast<std::uint64_t>(got));
    data.append(buffer.data(), static_cast<std::size_t>(got));
  }
  if (data.size() != stat.size) {
    fail(quoted(path_.string()), ": ", name, " holds ", data.size(), " bytes, not the ", stat.size,
         " its header says (damaged archive?)");
  }
  return data;
}

void ZipReader::extract(const std::string& name, int descriptor, const ExtractLimits& limits) const {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat(archive_, name.c_str(), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE) ||
      !(stat.valid & ZIP_STAT_COMP_SIZE)) {
    fail(quoted(path_.string()), ": the archive has no ", name);
  }
  const std::string what = quoted(path_.string()) + ": " + name;
  // Checked before a byte is written: an entry expanding far beyond its
  // stored size is refused (a zip bomb), whatever it holds.
  if (stat.size > limits.max_bytes) {
    fail(what, " is ", stat.size, " bytes, more than the ", limits.max_bytes, " accepted");
  }
  if (stat.size > limits.free_expansion && stat.size / limits.max_ratio > stat.comp_size) {
    fail(what, " expands from ", stat.comp_size, " to ", stat.size, " bytes, more than ", limits.max_ratio,
         " times (Keras stores it uncompressed)");
  }
  ZipFile file(zip_fopen(archive_, name.c_str(), 0));
  if (!file) fail(quoted(path_.string()), ": cannot read ", name, " (", zip_strerror(archive_), ")");
  std::vector<char> buffer(1 << 20);
  std::uint64_t done = 0;
  for (;;) {
    const zip_int64_t got = zip_fread(file.get(), buffer.data(), buffer.size());
    if (got < 0) fail(quoted(path_.string()), ": cannot read ", name, " (damaged archive?)");
    if (got == 0) break;
    const bool first = done == 0;
    done += static_cast<std::uint64_t>(got);
    if (done > stat.size) fail(what, " holds more bytes than the ", stat.size, " its header says (damaged archive?)");
    // The first bytes say what the entry is before anything reaches the disk.
    if (first && !limits.magic.empty() &&
        (static_cast<std::size_t>(got) < limits.magic.size() ||
         std::memcmp(buffer.data(), limits.magic.data(), limits.magic.size()) != 0)) {
      fail(what, " is not ", limits.kind);
    }
    for (std::size_t written = 0; written < static_cast<std::size_t>(got);) {
      const ssize_t put = ::write(descriptor, buffer.data() + written, static_cast<std::size_t>(got) - written);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) fail("cannot write ", name, " to the temporary folder (is it full?)");
      written += static_cast<std::size_t>(put);
    }
  }
  if (done != stat.size) {
    fail(what, " holds ", done, " bytes, not the ", stat.size, " its header says (damaged archive?)");
  }
  if (done == 0) fail(what, " is empty");
}

}  // namespace modelcut::keras
