// The protobuf wire format, just as much of it as modelcut needs to read and
// write ONNX files without a protobuf library.
//
// Reading works on a view of the whole file (memory-mapped), so a field's
// bytes, weights included, are never copied: a Field holds views into the
// input. Sizes are 64-bit, so files over 2 GB read like any other.
// Writing builds a Rope: a list of chunks that are either small owned byte
// strings (tags, lengths, rewritten messages) or views into an input file
// (nodes and initializers copied unchanged). Its size is known before it is
// written, which protobuf's length prefixes need, and its bytes are only
// copied once, from the input mapping to the output file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace modelcut {
class MappedFile;
}

namespace modelcut::wire {

enum class WireType : std::uint8_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::Varint;
  std::uint64_t varint = 0;  // for Varint fields
  std::string_view bytes;    // payload of Bytes fields (a string or a sub-message)
  std::string_view raw;      // the whole field, tag included, for copying unchanged
};

// Iterates over the fields of one message. Throws modelcut::Error naming
// `what` (e.g. "model.onnx: graph: node 12") when the bytes are malformed or
// truncated.
class Reader {
 public:
  Reader(std::string_view message, std::string what) : data_(message), what_(std::move(what)) {}
  bool next(Field& field);
  const std::string& what() const { return what_; }

 private:
  std::uint64_t read_varint();
  std::string_view data_;
  std::size_t position_ = 0;
  std::string what_;
};

// Decodes a packed or unpacked repeated int64 field's values into `out`.
void append_int64s(const Field& field, std::vector<std::int64_t>& out, const std::string& what);

class Rope {
 public:
  Rope() = default;
  Rope(const Rope&) = delete;
  Rope& operator=(const Rope&) = delete;
  Rope(Rope&&) = default;
  Rope& operator=(Rope&&) = default;

  // Appends bytes owned elsewhere; they must outlive the rope. Bytes that
  // lie in a mapped file should name it: they are then read from the file
  // through a small buffer when written, never paged into this process.
  void append_view(std::string_view bytes, const MappedFile* source = nullptr);
  void append_owned(std::string_view bytes);
  void append(Rope&& other);

  void add_varint_field(std::uint32_t number, std::uint64_t value);
  void add_bytes_field(std::uint32_t number, std::string_view bytes);  // copies the bytes
  void add_view_field(std::uint32_t number, std::string_view bytes,
                      const MappedFile* source = nullptr);  // refers to the bytes
  void add_message_field(std::uint32_t number, Rope&& message);

  std::uint64_t size() const { return size_; }
  std::string to_string() const;
  // Writes everything to the descriptor, reporting the bytes written so far
  // to `progress` (if set) as it goes; returns false on a write error.
  bool write_to(int fd, const std::function<void(std::uint64_t)>& progress = {}) const;

 private:
  struct Chunk {
    std::string_view view;  // used when `owned` is empty
    std::string owned;
    const MappedFile* source = nullptr;  // the file `view` lies in, if known
  };
  std::string& tail();
  std::vector<Chunk> chunks_;
  std::uint64_t size_ = 0;
};

void put_varint(std::string& out, std::uint64_t value);

}  // namespace modelcut::wire
