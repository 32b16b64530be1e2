// POSIX implementation of MappedFile.
#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "modelcut/error.h"
#include "modelcut/modelcut.h"

namespace modelcut {

const char* describe_file_type(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a named pipe (FIFO)";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFSOCK:
      return "a socket";
    default:
      return "not a regular file";
  }
}

void check_input_file(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) fail("cannot open ", quoted(path.string()), ": ", std::strerror(errno));
  if (!S_ISREG(status.st_mode)) {
    fail("cannot read ", quoted(path.string()), ": it is ", describe_file_type(status.st_mode),
         ", and modelcut reads only regular files");
  }
}

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  // NB: stat first, as opening a device can have effects of its own. Should
  // a FIFO be put there meanwhile, O_NONBLOCK (no effect on regular files)
  // keeps the open from waiting for a writer, and fstat refuses it.
  check_input_file(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("cannot open ", quoted(path.string()), ": ", std::strerror(errno));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    const unsigned mode = status.st_mode;
    ::close(fd);
    fail("cannot read ", quoted(path.string()), ": it is ", describe_file_type(mode),
         ", and modelcut reads only regular files");
  }
  // A regular file: back to blocking reads, which the weight copies expect.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size_ = static_cast<std::size_t>(status.st_size);
  if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data_ == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      data_ = nullptr;
      fail("cannot map ", quoted(path.string()), ": ", std::strerror(error));
    }
    // Parsing jumps from header to header over the weights between them:
    // read only the pages touched.
    ::madvise(data_, size_, MADV_RANDOM);
  }
  fd_ = fd;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace modelcut
