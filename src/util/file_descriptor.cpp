// Descriptor ownership and positional reads (see file_descriptor.h).
#include "file_descriptor.h"

#include <unistd.h>

#include <cerrno>

namespace modelcut {

FileDescriptor::~FileDescriptor() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

int FileDescriptor::release() noexcept {
  const int descriptor = descriptor_;
  descriptor_ = -1;
  return descriptor;
}

bool FileDescriptor::close() noexcept {
  const int descriptor = release();
  return descriptor >= 0 && ::close(descriptor) == 0;
}

bool read_exactly(int descriptor, std::uint64_t offset, std::size_t size, unsigned char* out) noexcept {
  while (size > 0) {
    const ssize_t got = ::pread(descriptor, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    size -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
  return true;
}

}  // namespace modelcut
