// Locating a stored zip member (see zip_stored_member.h). Every offset and
// length read from the archive is checked against the file's size before
// use; the directory read is bounded.
#include "zip_stored_member.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "util/file_descriptor.h"

namespace modelcut::keras {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint64_t kMaxDirectoryBytes = std::uint64_t{64} << 20;

std::uint64_t le(const unsigned char* bytes, unsigned size) {
  std::uint64_t value = 0;
  for (unsigned i = size; i > 0; --i) value = (value << 8) | bytes[i - 1];
  return value;
}

}  // namespace

std::optional<h5::FileSpan> find_stored_member(const std::filesystem::path& path, const std::string& name,
                                               std::uint64_t expected_size) {
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info;
  if (file.get() < 0 || fstat(file.get(), &info) != 0 || info.st_size < 22) return std::nullopt;
  const auto file_size = static_cast<std::uint64_t>(info.st_size);

  // The end-of-directory record: the last one within the 64 KiB a comment allows.
  const std::uint64_t tail_size = std::min<std::uint64_t>(file_size, 22 + 0xFFFF);
  std::vector<unsigned char> tail(static_cast<std::size_t>(tail_size));
  if (!read_exactly(file.get(), file_size - tail_size, tail.size(), tail.data())) return std::nullopt;
  std::optional<std::size_t> end_at;
  for (std::size_t i = tail.size() - 22 + 1; i-- > 0;) {
    if (le(&tail[i], 4) == kEndOfDirectory && i + 22 + le(&tail[i + 20], 2) <= tail.size()) {
      end_at = i;
      break;
    }
  }
  if (!end_at) return std::nullopt;
  const unsigned char* end = &tail[*end_at];
  const std::uint64_t end_offset = file_size - tail_size + *end_at;
  if (le(end + 4, 2) != 0 || le(end + 6, 2) != 0) return std::nullopt;  // multi-disk archives
  std::uint64_t entries = le(end + 10, 2);
  std::uint64_t directory_size = le(end + 12, 4);
  std::uint64_t directory_offset = le(end + 16, 4);
  std::uint64_t directory_end = end_offset;
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    unsigned char locator[20];
    unsigned char record[56];
    if (end_offset < 20 || !read_exactly(file.get(), end_offset - 20, sizeof locator, locator) ||
        le(locator, 4) != kZip64Locator)
      return std::nullopt;
    const std::uint64_t record_offset = le(locator + 8, 8);
    if (record_offset > end_offset - 20 || end_offset - 20 - record_offset < sizeof record ||
        !read_exactly(file.get(), record_offset, sizeof record, record) || le(record, 4) != kZip64End)
      return std::nullopt;
    entries = le(record + 32, 8);
    directory_size = le(record + 40, 8);
    directory_offset = le(record + 48, 8);
    directory_end = record_offset;
  }
  if (directory_size > kMaxDirectoryBytes || directory_offset > directory_end ||
      directory_size > directory_end - directory_offset)
    return std::nullopt;
  std::vector<unsigned char> directory(static_cast<std::size_t>(directory_size));
  if (!read_exactly(file.get(), directory_offset, directory.size(), directory.data())) return std::nullopt;

  std::optional<h5::FileSpan> found;
  std::size_t at = 0;
  for (std::uint64_t entry = 0; entry < entries; ++entry) {
    if (directory.size() - at < 46 || le(&directory[at], 4) != kCentralHeader) return std::nullopt;
    const unsigned char* header = &directory[at];
    const std::size_t name_length = le(header + 28, 2);
    const std::size_t extra_length = le(header + 30, 2);
    const std::size_t comment_length = le(header + 32, 2);
    if (directory.size() - at - 46 < name_length + extra_length + comment_length) return std::nullopt;
    const std::string entry_name(reinterpret_cast<const char*>(header + 46), name_length);
    at += 46 + name_length + extra_length + comment_length;
    if (entry_name != name) continue;
    if (found) return std::nullopt;  // listed twice: leave it to libzip
    const std::uint64_t flags = le(header + 8, 2);
    const std::uint64_t method = le(header + 10, 2);
    std::uint64_t compressed = le(header + 20, 4);
    std::uint64_t size = le(header + 24, 4);
    std::uint64_t local = le(header + 42, 4);
    // zip64: the fields set to all ones are in the extra block 0x0001, in this order.
    const unsigned char* extra = header + 46 + name_length;
    for (std::size_t e = 0; e + 4 <= extra_length;) {
      const std::uint64_t id = le(extra + e, 2);
      const std::size_t length = le(extra + e + 2, 2);
      if (extra_length - e - 4 < length) return std::nullopt;
      if (id == 1) {
        std::size_t field = e + 4;
        for (std::uint64_t* value : {&size, &compressed, &local}) {
          if (*value != 0xFFFFFFFF) continue;
          if (field + 8 > e + 4 + length) return std::nullopt;
          *value = le(extra + field, 8);
          field += 8;
        }
      }
      e += 4 + length;
    }
    if ((flags & 1) != 0 || method != 0 || compressed != size || size != expected_size) return std::nullopt;
    unsigned char local_header[30];
    if (local > directory_offset || directory_offset - local < sizeof local_header ||
        !read_exactly(file.get(), local, sizeof local_header, local_header) || le(local_header, 4) != kLocalHeader ||
        le(local_header + 8, 2) != 0)
      return std::nullopt;
    const std::uint64_t local_name = le(local_header + 26, 2);
    const std::uint64_t local_extra = le(local_header + 28, 2);
    const std::uint64_t data = local + 30 + local_name + local_extra;
    if (local_name != name.size() || data > directory_offset || size > directory_offset - data) return std::nullopt;
    std::vector<unsigned char> stored_name(name.size());
    if (!read_exactly(file.get(), local + 30, stored_name.size(), stored_name.data()) ||
        std::memcmp(stored_name.data(), name.data(), name.size()) != 0)
      return std::nullopt;
    found = h5::FileSpan{data, size};
  }
  return found;
}

}  // namespace modelcut::keras
