// Protobuf wire format reading and writing (see wire.h).
#include "wire.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "../../util/mapped_file.h"
#include "modelcut/error.h"

namespace modelcut::wire {

std::uint64_t Reader::read_varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (position_ >= data_.size()) fail(what_, ": truncated (a number runs past the end of the data)");
    const auto byte = static_cast<std::uint8_t>(data_[position_++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  fail(what_, ": malformed protobuf (a number is longer than 10 bytes)");
}

bool Reader::next(Field& field) {
  if (position_ >= data_.size()) return false;
  const std::size_t start = position_;
  const std::uint64_t tag = read_varint();
  field.number = static_cast<std::uint32_t>(tag >> 3);
  if (field.number == 0 || (tag >> 3) > 0x1fffffff)
    fail(what_, ": malformed protobuf (field number 0 at byte ", start, ")");
  const auto type = static_cast<std::uint8_t>(tag & 7);
  field.varint = 0;
  field.bytes = {};
  auto take = [&](std::uint64_t length) {
    if (length > data_.size() - position_) {
      fail(what_, ": truncated (field ", field.number, " at byte ", start, " wants ", length, " bytes, ",
           data_.size() - position_, " remain)");
    }
    field.bytes = data_.substr(position_, length);
    position_ += length;
  };
  switch (type) {
    case 0:
      field.type = WireType::Varint;
      field.varint = read_varint();
      break;
    case 1:
      field.type = WireType::Fixed64;
      take(8);
      break;
    case 2:
      field.type = WireType::Bytes;
      take(read_varint());
      break;
    case 5:
      field.type = WireType::Fixed32;
      take(4);
      break;
    default:
      fail(what_, ": malformed protobuf (wire type ", int(type), " at byte ", start, ")");
  }
  field.raw = data_.substr(start, position_ - start);
  return true;
}

void append_int64s(const Field& field, std::vector<std::int64_t>& out, const std::string& what) {
  if (field.type == WireType::Varint) {
    out.push_back(static_cast<std::int64_t>(field.varint));
    return;
  }
  if (field.type != WireType::Bytes)
    fail(what, ": malformed protobuf (field ", field.number, " is not a list of integers)");
  // Packed: a run of varints. Reuse the reader by framing each as field 1.
  std::size_t position = 0;
  const std::string_view data = field.bytes;
  while (position < data.size()) {
    std::uint64_t value = 0;
    int shift = 0;
    for (;; shift += 7) {
      if (position >= data.size() || shift >= 64) fail(what, ": malformed packed integer list");
      const auto byte = static_cast<std::uint8_t>(data[position++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    out.push_back(static_cast<std::int64_t>(value));
  }
}

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::string& Rope::tail() {
  if (chunks_.empty() || chunks_.back().owned.empty()) chunks_.emplace_back();
  return chunks_.back().owned;
}

// Views shorter than this are copied: a chunk per tiny string would cost more
// than the copy.
constexpr std::size_t kSmallView = 64;

void Rope::append_view(std::string_view bytes, const MappedFile* source) {
  if (bytes.empty()) return;
  if (bytes.size() < kSmallView) return append_owned(bytes);
  chunks_.push_back(Chunk{bytes, {}, source});
  size_ += bytes.size();
}

void Rope::append_owned(std::string_view bytes) {
  if (bytes.empty()) return;
  tail().append(bytes.data(), bytes.size());
  size_ += bytes.size();
}

void Rope::append(Rope&& other) {
  for (Chunk& chunk : other.chunks_) {
    if (chunk.owned.empty()) {
      chunks_.push_back(std::move(chunk));
    } else {
      tail().append(chunk.owned);
    }
  }
  size_ += other.size_;
  other.chunks_.clear();
  other.size_ = 0;
}

void Rope::add_varint_field(std::uint32_t number, std::uint64_t value) {
  std::string bytes;
  put_varint(bytes, (static_cast<std::uint64_t>(number) << 3) | 0);
  put_varint(bytes, value);
  append_owned(bytes);
}

void Rope::add_bytes_field(std::uint32_t number, std::string_view payload) {
  std::string bytes;
  put_varint(bytes, (static_cast<std::uint64_t>(number) << 3) | 2);
  put_varint(bytes, payload.size());
  append_owned(bytes);
  append_owned(payload);
}

void Rope::add_view_field(std::uint32_t number, std::string_view payload, const MappedFile* source) {
  std::string bytes;
  put_varint(bytes, (static_cast<std::uint64_t>(number) << 3) | 2);
  put_varint(bytes, payload.size());
  append_owned(bytes);
  append_view(payload, source);
}

void Rope::add_message_field(std::uint32_t number, Rope&& message) {
  std::string bytes;
  put_varint(bytes, (static_cast<std::uint64_t>(number) << 3) | 2);
  put_varint(bytes, message.size());
  append_owned(bytes);
  append(std::move(message));
}

std::string Rope::to_string() const {
  std::string out;
  out.reserve(size_);
  for (const Chunk& chunk : chunks_) {
    if (chunk.owned.empty()) {
      out.append(chunk.view);
    } else {
      out.append(chunk.owned);
    }
  }
  return out;
}

namespace {

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// How the weights get from the source file to the output.
struct FileCopy {
  bool kernel_copy = true;   // until copy_file_range is refused once (Linux only)
  std::vector<char> buffer;  // for pread and write, allocated on first need
};

// Copies the bytes of `view`, which lie at `offset` of `source`, to `fd`.
// First with copy_file_range: the kernel moves the bytes from page cache to
// page cache once, where pread + write copy them twice (into a buffer here
// and out again), as cp does. NB: measured on Linux 6.18/ext4 with source
// and destination offsets that differ modulo the page size (the usual case
// for tensors moved into a new protobuf), 600 MB: copy_file_range 0.34-0.49 s,
// pread + write 0.59-1.07 s. Where the kernel refuses (another file system,
// an old kernel, a descriptor it cannot copy between) or stops short, the
// rest goes through a small buffer with pread: the weights never enter this
// process's mapping, so memory stays at the buffer's size.
bool copy_from_file(int fd, const MappedFile& source, std::uint64_t offset, std::string_view view, FileCopy& copy) {
  std::size_t done = 0;
#ifdef __linux__
  while (copy.kernel_copy && done < view.size()) {
    off_t from = static_cast<off_t>(offset + done);
    const ssize_t got = ::copy_file_range(source.descriptor(), &from, fd, nullptr, view.size() - done, 0);
    if (got < 0 && errno == EINTR) continue;
    // An error (ENOSPC, EIO and the like included) or nothing copied: the
    // buffered path does the rest and reports a real failure itself.
    if (got <= 0) {
      copy.kernel_copy = false;
      break;
    }
    done += static_cast<std::size_t>(got);
  }
#endif
  constexpr std::size_t kBuffer = 8u << 20;
  while (done < view.size()) {
    if (copy.buffer.empty()) copy.buffer.resize(kBuffer);
    const std::size_t want = std::min(copy.buffer.size(), view.size() - done);
    const ssize_t got = ::pread(source.descriptor(), copy.buffer.data(), want, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return write_all(fd, view.substr(done));  // fall back to the mapping
    if (!write_all(fd, std::string_view(copy.buffer.data(), static_cast<std::size_t>(got)))) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

bool Rope::write_to(int fd, const std::function<void(std::uint64_t)>& progress) const {
  // Large chunks are written in slices so progress moves on big weights.
  constexpr std::size_t kSlice = 64u << 20;
  std::uint64_t written = 0;
  FileCopy copy;
  for (const Chunk& chunk : chunks_) {
    const std::string_view bytes = chunk.owned.empty() ? chunk.view : std::string_view(chunk.owned);
    for (std::size_t start = 0; start < bytes.size(); start += kSlice) {
      const std::string_view slice = bytes.substr(start, kSlice);
      const bool ok = chunk.source != nullptr && chunk.owned.empty()
                          ? copy_from_file(fd, *chunk.source, chunk.source->offset_of(slice), slice, copy)
                          : write_all(fd, slice);
      if (!ok) return false;
      written += slice.size();
      if (progress) progress(written);
    }
  }
  return true;
}

}  // namespace modelcut::wire
