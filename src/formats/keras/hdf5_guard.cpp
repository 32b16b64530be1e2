// The checking HDF5 driver (see hdf5_guard.h): POSIX pread, read-only, and
// a walk over each global heap collection before the library sees it.
//
// NB: why a driver. libhdf5 1.10.8 (Debian's) loops forever deserialising a
// collection whose free-space object has size 0, and reads past its buffer
// on other bad object sizes; two changed bytes in a legacy .h5 hang
// `modelcut inspect`. The library asks its driver for a collection's bytes
// (typed H5FD_MEM_GHEAP) before it parses them, so checking here covers
// every path that loads one (H5Aread, H5Ocopy, ...) and needs no parsing of
// object headers. Alternatives weighed: reading the attribute in a forked,
// time-limited child would cost a fork per string attribute and is unsafe in
// a multi-threaded host (the Python API); scanning the file for "GCOL"
// would cost a pass over gigabytes of weights and could miss collections.
#include "hdf5_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "util/file_descriptor.h"

namespace modelcut::keras::h5 {
namespace {

struct GuardFile {
  H5FD_t base;  // first: the library sees a GuardFile as an H5FD_t
  int fd = -1;
  std::uint64_t start = 0;  // where the HDF5 file begins in the opened file (a zip member's offset)
  haddr_t eoa = 0;
  haddr_t eof = 0;
  dev_t device = 0;
  ino_t inode = 0;
  unsigned length_size = 8;   // bytes of a "length" field, from the superblock
  std::set<haddr_t> checked;  // collections found sound
};

GuardFile* as_guard(H5FD_t* file) { return reinterpret_cast<GuardFile*>(file); }
const GuardFile* as_guard(const H5FD_t* file) { return reinterpret_cast<const GuardFile*>(file); }

std::uint64_t little_endian(const unsigned char* bytes, unsigned size) {
  std::uint64_t value = 0;
  for (unsigned i = size; i > 0; --i) value = (value << 8) | bytes[i - 1];
  return value;
}

// The size of lengths the superblock declares (the library searches for
// the superblock at 0, 512, 1024, ...); 0 when none is found.
unsigned superblock_length_size(int fd, std::uint64_t start, haddr_t eof) {
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (haddr_t at = 0; at + 16 <= eof; at = at == 0 ? 512 : at * 2) {
    unsigned char head[16];
    if (!read_exactly(fd, start + at, sizeof head, head)) return 0;
    if (std::memcmp(head, kSignature, 8) != 0) continue;
    const unsigned version = head[8];
    return version <= 1 ? head[14] : head[10];
  }
  return 0;
}

// Walks a collection as the library's deserialiser does and refuses what
// would make it loop or read outside the collection: every object must fit
// and move the walk forward.
bool collection_is_sound(const GuardFile& file, haddr_t address) {
  const unsigned length = file.length_size;
  const std::size_t header = 8 + length;         // "GCOL", version, reserved, collection size
  const std::size_t object_header = 8 + length;  // index, references, reserved, object size
  if (address >= file.eof || file.eof - address < header) return false;
  unsigned char head[8 + 8];
  if (!read_exactly(file.fd, file.start + address, header, head)) return false;
  if (std::memcmp(head, "GCOL", 4) != 0 || head[4] != 1) return false;
  const std::uint64_t size = little_endian(head + 8, length);
  if (size < header || size > file.eof - address) return false;
  std::vector<unsigned char> collection(static_cast<std::size_t>(size));
  if (!read_exactly(file.fd, file.start + address, collection.size(), collection.data())) return false;
  std::size_t at = header;
  while (at < collection.size()) {
    if (collection.size() - at < object_header) break;  // a tail too small for an object is free space
    const unsigned index = collection[at] | (collection[at + 1] << 8);
    const std::uint64_t object_size = little_endian(&collection[at + 8], length);
    const std::uint64_t room = collection.size() - at;
    std::uint64_t need;
    if (index == 0) {  // free space: its size covers its header
      need = object_size;
      if (need < object_header || need > room) return false;
    } else {
      if (object_size > room - object_header) return false;
      need = object_header + (object_size + 7) / 8 * 8;
      if (need > room) return false;
    }
    at += static_cast<std::size_t>(need);
  }
  return true;
}

H5FD_t* guard_open(const char* name, unsigned flags, hid_t access, haddr_t maxaddr) {
  if ((flags & H5F_ACC_RDWR) || (flags & H5F_ACC_CREAT) || (flags & H5F_ACC_TRUNC)) return nullptr;
  const auto* span = static_cast<const FileSpan*>(H5Pget_driver_info(access));
  FileDescriptor fd(::open(name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return nullptr;
  struct stat info;
  if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) ||
      (span != nullptr && span->size != 0 &&
       (span->offset > static_cast<std::uint64_t>(info.st_size) ||
        span->size > static_cast<std::uint64_t>(info.st_size) - span->offset))) {
    return nullptr;
  }
  auto* file = new (std::nothrow) GuardFile();
  if (file == nullptr) return nullptr;
  file->eof = static_cast<haddr_t>(info.st_size);
  if (span != nullptr && span->size != 0) {
    file->start = span->offset;
    file->eof = static_cast<haddr_t>(span->size);
  }
  file->device = info.st_dev;
  file->inode = info.st_ino;
  const unsigned length_size = superblock_length_size(fd.get(), file->start, file->eof);
  file->length_size = length_size == 2 || length_size == 4 || length_size == 8 ? length_size : 0;
  file->fd = fd.release();  // guard_close closes it
  (void)maxaddr;
  return &file->base;
}

herr_t guard_close(H5FD_t* base) {
  GuardFile* file = as_guard(base);
  const int result = ::close(file->fd);
  delete file;
  return result == 0 ? 0 : -1;
}

int guard_compare(const H5FD_t* a, const H5FD_t* b) {
  const GuardFile* first = as_guard(a);
  const GuardFile* second = as_guard(b);
  if (first->device != second->device) return first->device < second->device ? -1 : 1;
  if (first->inode != second->inode) return first->inode < second->inode ? -1 : 1;
  if (first->start != second->start) return first->start < second->start ? -1 : 1;
  return 0;
}

herr_t guard_query(const H5FD_t*, unsigned long* flags) {
  // No metadata accumulation: each collection is then read at its own address.
  if (flags != nullptr) *flags = H5FD_FEAT_DATA_SIEVE;
  return 0;
}

haddr_t guard_get_eoa(const H5FD_t* file, H5FD_mem_t) { return as_guard(file)->eoa; }

herr_t guard_set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t address) {
  as_guard(file)->eoa = address;
  return 0;
}

haddr_t guard_get_eof(const H5FD_t* file, H5FD_mem_t) { return as_guard(file)->eof; }

herr_t guard_get_handle(H5FD_t* file, hid_t, void** handle) {
  if (handle == nullptr) return -1;
  *handle = &as_guard(file)->fd;
  return 0;
}

herr_t guard_read(H5FD_t* base, H5FD_mem_t type, hid_t, haddr_t address, size_t size, void* buffer) {
  GuardFile* file = as_guard(base);
  if (address == HADDR_UNDEF || address + size < address) return -1;
  auto* bytes = static_cast<unsigned char*>(buffer);
  // As the library's own drivers do: bytes past the end of the file read as zeros.
  const std::size_t present =
      address >= file->eof ? 0 : static_cast<std::size_t>(std::min<haddr_t>(size, file->eof - address));
  // A damaged header can ask for gigabytes past the end; zero-filling them
  // would use that much memory. The library's own reads past the end are
  // speculative reads of a few KiB near it, far below this bound.
  constexpr std::size_t kMaxBytesPastEnd = std::size_t{1} << 20;
  if (size - present > kMaxBytesPastEnd) return -1;
  if (present > 0 && !read_exactly(file->fd, file->start + address, present, bytes)) return -1;
  std::memset(bytes + present, 0, size - present);
  // The library reads a collection as raw data (H5F_block_read maps
  // H5FD_MEM_GHEAP to H5FD_MEM_DRAW), first at its address, then the rest
  // if it is longer, so a read starting with a collection's signature and
  // version is checked. A dataset starting with those 8 bytes by chance
  // (2^-64) is checked too, and refused only if it then fails the walk.
  static const unsigned char kCollection[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
  if ((type == H5FD_MEM_DRAW || type == H5FD_MEM_GHEAP) && present >= sizeof kCollection &&
      std::memcmp(bytes, kCollection, sizeof kCollection) == 0 && !file->checked.count(address)) {
    if (file->length_size == 0 || !collection_is_sound(*file, address)) return -1;
    file->checked.insert(address);
  }
  return 0;
}

herr_t guard_write(H5FD_t*, H5FD_mem_t, hid_t, haddr_t, size_t, const void*) { return -1; }

H5FD_class_t make_class() {
  H5FD_class_t driver;
  std::memset(&driver, 0, sizeof driver);
  driver.name = "modelcut_checked";
  driver.maxaddr = (static_cast<haddr_t>(1) << 62) - 1;
  driver.fc_degree = H5F_CLOSE_WEAK;
  driver.fapl_size = sizeof(FileSpan);  // copied and freed by the library
  driver.open = guard_open;
  driver.close = guard_close;
  driver.cmp = guard_compare;
  driver.query = guard_query;
  driver.get_eoa = guard_get_eoa;
  driver.set_eoa = guard_set_eoa;
  driver.get_eof = guard_get_eof;
  driver.get_handle = guard_get_handle;
  driver.read = guard_read;
  driver.write = guard_write;
  const H5FD_mem_t map[H5FD_MEM_NTYPES] = H5FD_FLMAP_DICHOTOMY;
  std::memcpy(driver.fl_map, map, sizeof map);
  return driver;
}

}  // namespace

hid_t checked_read_access(const FileSpan& span) {
  static const H5FD_class_t driver = make_class();
  static hid_t driver_id = H5I_INVALID_HID;
  static std::once_flag once;
  std::call_once(once, [] { driver_id = H5FDregister(&driver); });
  if (driver_id < 0) return H5I_INVALID_HID;
  const hid_t access = H5Pcreate(H5P_FILE_ACCESS);
  if (access < 0) return H5I_INVALID_HID;
  if (H5Pset_driver(access, driver_id, &span) < 0) {
    H5Pclose(access);
    return H5I_INVALID_HID;
  }
  return access;
}

}  // namespace modelcut::keras::h5
