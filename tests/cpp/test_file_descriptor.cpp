// The shared descriptor owner and positional read of src/util: a range is
// read whole from any offset without moving the file position, a range the
// file does not hold is refused, and the owner closes exactly once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/file_descriptor.h"

namespace modelcut {
namespace {

namespace fs = std::filesystem;

class FileDescriptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("modelcut_file_descriptor_" + std::to_string(::getpid()));
    std::ofstream(path_, std::ios::binary) << content_;
  }
  void TearDown() override { fs::remove(path_); }

  static bool is_open(int descriptor) { return ::fcntl(descriptor, F_GETFD) != -1; }

  fs::path path_;
  const std::string content_ = "0123456789abcdefghij";
};

TEST_F(FileDescriptorTest, ReadsARangeAtAnOffsetWithoutMovingThePosition) {
  const FileDescriptor file(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  std::vector<unsigned char> out(6);
  ASSERT_TRUE(read_exactly(file.get(), 10, out.size(), out.data()));
  EXPECT_EQ(std::string(out.begin(), out.end()), "abcdef");
  ASSERT_TRUE(read_exactly(file.get(), 14, out.size(), out.data()));  // up to the last byte
  EXPECT_EQ(std::string(out.begin(), out.end()), "efghij");
  EXPECT_EQ(::lseek(file.get(), 0, SEEK_CUR), 0);
  EXPECT_TRUE(read_exactly(file.get(), 20, 0, out.data()));  // nothing to read
}

TEST_F(FileDescriptorTest, RefusesARangeThePathDoesNotHold) {
  const FileDescriptor file(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  std::vector<unsigned char> out(6);
  EXPECT_FALSE(read_exactly(file.get(), 15, out.size(), out.data()));  // one byte short
  EXPECT_FALSE(read_exactly(file.get(), 1000, out.size(), out.data()));
  EXPECT_FALSE(read_exactly(-1, 0, out.size(), out.data()));
}

TEST_F(FileDescriptorTest, ClosesOnceWhenDestroyedOrClosed) {
  int descriptor = -1;
  {
    const FileDescriptor file(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    descriptor = file.get();
    ASSERT_TRUE(is_open(descriptor));
  }
  EXPECT_FALSE(is_open(descriptor));

  FileDescriptor closed(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  descriptor = closed.get();
  EXPECT_TRUE(closed.close());
  EXPECT_FALSE(closed.valid());
  EXPECT_FALSE(is_open(descriptor));
  EXPECT_FALSE(closed.close());  // nothing left to close: reported, not a second close()
}

TEST_F(FileDescriptorTest, ReleaseHandsTheDescriptorOver) {
  int descriptor = -1;
  {
    FileDescriptor file(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    descriptor = file.release();
    EXPECT_FALSE(file.valid());
  }
  EXPECT_TRUE(is_open(descriptor));
  ::close(descriptor);
}

TEST_F(FileDescriptorTest, AFailedOpenOwnsNothing) {
  const FileDescriptor missing(::open((path_.string() + ".missing").c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(missing.valid());
}

}  // namespace
}  // namespace modelcut
