// Owning a POSIX file descriptor, and reading a whole range at a position
// from one. Both are used on paths that must not throw (HDF5 driver
// callbacks), so they report failure by return value; callers turn it into
// an Error naming the file where they can.
#pragma once

#include <cstddef>
#include <cstdint>

namespace modelcut {

// Closes the descriptor it owns when destroyed. Not copyable: one owner.
// A negative descriptor (a failed open) is owned as "none".
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int descriptor) noexcept : descriptor_(descriptor) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const noexcept { return descriptor_; }
  bool valid() const noexcept { return descriptor_ >= 0; }
  // Gives up ownership: the caller closes the returned descriptor.
  int release() noexcept;
  // Closes now, reporting whether close() succeeded (where a delayed write
  // error of a written file shows); the descriptor is given up either way.
  bool close() noexcept;

 private:
  int descriptor_ = -1;
};

// Reads exactly `size` bytes at `offset` of `descriptor` into `out`,
// retrying reads cut short or interrupted by a signal; false on an error or
// when the file ends first (then `out` holds what was read). Does not move
// the file position, so one descriptor may be read from several places.
bool read_exactly(int descriptor, std::uint64_t offset, std::size_t size, unsigned char* out) noexcept;

}  // namespace modelcut
