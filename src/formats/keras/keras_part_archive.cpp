// A part's .keras archive with its weights member in place (see
// keras_part_archive.h). Zip layout, offsets in the output file:
//   0      local header of model.weights.h5, padded to 512 bytes with an
//          extra field (and a zip64 field when the member is 4 GiB or more)
//   512    the HDF5 file: metadata by libhdf5, data by raw copies
//   eof    metadata.json and config.json (header + bytes each), then the
//          directory (metadata.json, config.json, model.weights.h5, as Keras
//          lists them) and its end record (zip64 records when needed).
#include "keras_part_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "crc32.h"
#include "modelcut/error.h"
#include "util/file_descriptor.h"

namespace modelcut::keras {
namespace {

constexpr std::uint64_t kUserBlock = 512;  // HDF5's smallest; the local header fits with room to spare
constexpr std::uint64_t kZip32Max = 0xFFFFFFFF;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr std::uint16_t kDosTime = 0;                        // 00:00:00
constexpr std::uint32_t kUnixMode = 0100644u << 16;          // a regular file, rw-r--r--
constexpr std::uint16_t kPaddingId = 0x6d63;                 // modelcut's padding ("mc"), ignored by readers
constexpr std::size_t kCopyBuffer = std::size_t{1} << 20;    // fits in cache between read, CRC and write

void put16(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
void put32(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
void put64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

struct Member {
  std::string name;
  std::uint64_t offset = 0;  // of its local header
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
};

// The fields a local header and its directory record share, from "version
// needed" to the name's length. `zip64`: some field of the record is in a
// zip64 extra field; `big_size`: the sizes are.
void put_common_fields(std::string& header, const Member& member, bool zip64, bool big_size) {
  put16(header, zip64 ? 45 : 20);  // version needed
  put16(header, 0);                // flags
  put16(header, 0);                // stored
  put16(header, kDosTime);
  put16(header, kDosDate);
  put32(header, member.crc);
  put32(header, big_size ? kZip32Max : member.size);  // compressed size
  put32(header, big_size ? kZip32Max : member.size);  // size
  put16(header, member.name.size());
}

// A local header; `pad_to` > 0 pads it to that many bytes.
std::string local_header(const Member& member, std::uint64_t zip64_from, std::size_t pad_to = 0) {
  const bool zip64 = member.size >= zip64_from;
  std::string extra;
  if (zip64) {
    put16(extra, 1);
    put16(extra, 16);
    put64(extra, member.size);
    put64(extra, member.size);
  }
  std::string header;
  put32(header, 0x04034b50);
  put_common_fields(header, member, zip64, zip64);
  const std::size_t unpadded = header.size() + 2 + member.name.size() + extra.size();
  if (pad_to > 0) {
    if (pad_to < unpadded + 4) fail("internal error: a zip header does not fit in the HDF5 user block");
    const std::size_t padding = pad_to - unpadded - 4;
    put16(extra, kPaddingId);
    put16(extra, padding);
    extra.append(padding, '\0');
  }
  put16(header, extra.size());
  header += member.name;
  header += extra;
  return header;
}

std::string central_header(const Member& member, std::uint64_t zip64_from) {
  std::string extra;
  const bool big_size = member.size >= zip64_from;
  const bool big_offset = member.offset >= zip64_from;
  if (big_size || big_offset) {
    put16(extra, 1);
    put16(extra, (big_size ? 16 : 0) + (big_offset ? 8 : 0));
    if (big_size) {
      put64(extra, member.size);
      put64(extra, member.size);
    }
    if (big_offset) put64(extra, member.offset);
  }
  const bool zip64 = !extra.empty();
  std::string header;
  put32(header, 0x02014b50);
  put16(header, (3 << 8) | (zip64 ? 45 : 20));  // made by: Unix
  put_common_fields(header, member, zip64, big_size);
  put16(header, extra.size());
  put16(header, 0);  // comment
  put16(header, 0);  // disk
  put16(header, 0);  // internal attributes
  put32(header, kUnixMode);
  put32(header, big_offset ? kZip32Max : member.offset);
  header += member.name;
  header += extra;
  return header;
}

std::string end_records(std::uint64_t directory_offset, std::uint64_t directory_size, std::uint64_t entries,
                        std::uint64_t zip64_from) {
  std::string out;
  const bool zip64 = directory_offset >= zip64_from || directory_size >= zip64_from;
  if (zip64) {
    const std::uint64_t record_offset = directory_offset + directory_size;
    put32(out, 0x06064b50);
    put64(out, 44);  // size of the rest of the record
    put16(out, (3 << 8) | 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, entries);
    put64(out, entries);
    put64(out, directory_size);
    put64(out, directory_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, record_offset);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, entries);
  put16(out, entries);
  put32(out, zip64 ? kZip32Max : directory_size);
  put32(out, zip64 ? kZip32Max : directory_offset);
  put16(out, 0);
  return out;
}

class Output {
 public:
  explicit Output(const std::filesystem::path& path) : path_(path), fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {
    if (!fd_.valid()) fail("cannot write ", quoted(path.string()));
  }
  int get() const { return fd_.get(); }
  void close() {
    if (!fd_.close()) fail("cannot write ", quoted(path_.string()));
  }
  void write_at(std::uint64_t offset, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    while (size > 0) {
      const ssize_t put = ::pwrite(fd_.get(), bytes, size, static_cast<off_t>(offset));
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) fail("cannot write ", quoted(path_.string()), " (is the disk full?)");
      bytes += put;
      size -= static_cast<std::size_t>(put);
      offset += static_cast<std::uint64_t>(put);
    }
  }
  std::uint64_t size() const {
    struct stat info;
    if (fstat(fd_.get(), &info) != 0) fail("cannot write ", quoted(path_.string()));
    return static_cast<std::uint64_t>(info.st_size);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  FileDescriptor fd_;
};

std::uint32_t crc_of(std::uint32_t crc, const unsigned char* data, std::size_t size) {
  return crc32_update(crc, data, size);
}

// Copies one dataset's bytes through `buffer`, adding them to the CRC
// while they are in cache. NB: pread/pwrite, not mmap (measured slower here:
// mapping and unmapping cost more than the copy they save) nor
// copy_file_range (in-kernel copies are slower when source and target
// offsets differ modulo the page size, as they do here; bench/README.md).
void copy_data(int source, const h5::RawCopy& copy, Output& output, std::vector<unsigned char>& buffer,
               std::uint32_t& crc) {
  std::uint64_t done = 0;
  while (done < copy.size) {
    const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), copy.size - done));
    if (!read_exactly(source, copy.source_offset + done, size, buffer.data())) {
      fail("cannot read the weights of ", quoted(copy.source_path), " (did the model file change?)");
    }
    crc = crc_of(crc, buffer.data(), size);
    output.write_at(copy.target_offset + done, buffer.data(), size);
    done += size;
  }
}

}  // namespace

PartArchive::PartArchive(const std::filesystem::path& path, std::uint64_t zip64_from)
    : path_(path), weights_(h5::File::create(path, kUserBlock)), zip64_from_(std::min(zip64_from, kZip32Max)) {}

void PartArchive::finish(int source_descriptor, const std::string& metadata, const std::string& config) {
  weights_.close();
  Output output(path_);
  const std::uint64_t hdf5_end = output.size();
  if (hdf5_end < kUserBlock) fail("cannot write ", quoted(path_.string()));

  // The data, in the order of the output, with the CRC-32 of the whole
  // member computed on the way: bytes libhdf5 wrote are read back.
  std::sort(raw_.begin(), raw_.end(),
            [](const h5::RawCopy& a, const h5::RawCopy& b) { return a.target_offset < b.target_offset; });
  std::vector<unsigned char> buffer(kCopyBuffer);
  std::uint32_t crc = crc_of(0, nullptr, 0);
  std::uint64_t position = kUserBlock;
  auto checksum_written = [&](std::uint64_t end) {
    while (position < end) {
      const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end - position));
      if (!read_exactly(output.get(), position, size, buffer.data())) fail("cannot read back ", quoted(path_.string()));
      crc = crc_of(crc, buffer.data(), size);
      position += size;
    }
  };
  for (const h5::RawCopy& copy : raw_) {
    if (copy.target_offset < position || copy.target_offset > hdf5_end || copy.size > hdf5_end - copy.target_offset) {
      fail("internal error: the weights of ", quoted(copy.source_path), " do not fit in ", quoted(path_.string()));
    }
    checksum_written(copy.target_offset);
    copy_data(source_descriptor, copy, output, buffer, crc);
    position = copy.target_offset + copy.size;
  }
  checksum_written(hdf5_end);

  Member weights{"model.weights.h5", 0, hdf5_end - kUserBlock, crc};
  const std::string weights_header = local_header(weights, zip64_from_, kUserBlock);
  output.write_at(0, weights_header.data(), weights_header.size());

  std::vector<Member> members;
  std::string tail;
  std::uint64_t offset = hdf5_end;
  for (const auto& [name, text] : {std::pair<std::string, const std::string*>{"metadata.json", &metadata},
                                   std::pair<std::string, const std::string*>{"config.json", &config}}) {
    Member member{name, offset + tail.size(), text->size(),
                  crc_of(crc_of(0, nullptr, 0), reinterpret_cast<const unsigned char*>(text->data()), text->size())};
    tail += local_header(member, zip64_from_);
    tail += *text;
    members.push_back(member);
  }
  members.push_back(weights);
  const std::uint64_t directory_offset = offset + tail.size();
  std::string directory;
  for (const Member& member : members) directory += central_header(member, zip64_from_);
  tail += directory;
  tail += end_records(directory_offset, directory.size(), members.size(), zip64_from_);
  output.write_at(offset, tail.data(), tail.size());
  output.close();
}

}  // namespace modelcut::keras
