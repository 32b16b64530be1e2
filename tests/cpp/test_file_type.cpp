// Tests of sniff_file_type, the one file-type sniffer (C++ and, through the
// bindings, Python): signatures, names, and paths that are not regular files,
// which it must answer without opening (a FIFO would block a read).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "modelcut/file_type.h"

namespace modelcut::test {
namespace {

namespace fs = std::filesystem;

class FileTypes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("modelcut_file_type_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  fs::path dir_;
};

const std::string kHdf5Signature("\x89HDF\r\n\x1a\n", 8);

TEST_F(FileTypes, BySignatureWhateverTheName) {
  EXPECT_EQ(sniff_file_type(write("a.keras", "PK\x03\x04rest")), FileType::KerasZip);
  EXPECT_EQ(sniff_file_type(write("a.onnx", "PK\x03\x04")), FileType::KerasZip);
  EXPECT_EQ(sniff_file_type(write("b.h5", kHdf5Signature + "rest")), FileType::Hdf5);
  EXPECT_EQ(sniff_file_type(write("b", kHdf5Signature)), FileType::Hdf5);
  EXPECT_EQ(sniff_file_type(write("c.onnx", std::string("\x08\x07\x12\x04", 4))), FileType::Onnx);
}

TEST_F(FileTypes, ATruncatedSignatureIsNone) {
  EXPECT_EQ(sniff_file_type(write("short", kHdf5Signature.substr(0, 7))), FileType::Onnx);
  EXPECT_EQ(sniff_file_type(write("zip", "PK\x03")), FileType::Onnx);
  EXPECT_EQ(sniff_file_type(write("empty", "")), FileType::Onnx);
}

TEST_F(FileTypes, NamedLikeKerasButNeither) {
  EXPECT_EQ(sniff_file_type(write("m.keras", "not a zip")), FileType::NotKeras);
  EXPECT_EQ(sniff_file_type(write("m.h5", "")), FileType::NotKeras);
  EXPECT_EQ(sniff_file_type(write("m.hdf5", kHdf5Signature.substr(0, 4))), FileType::NotKeras);
  EXPECT_STREQ(to_string(FileType::NotKeras), "not-keras");
}

TEST_F(FileTypes, PathsThatAreNoRegularFileAreNotRead) {
  EXPECT_EQ(sniff_file_type(dir_ / "missing.h5"), FileType::Onnx);
  fs::create_directories(dir_ / "folder.keras");
  EXPECT_EQ(sniff_file_type(dir_ / "folder.keras"), FileType::Onnx);
  // Opening a FIFO for reading blocks until a writer comes: it must not be opened.
  const fs::path fifo = dir_ / "pipe.h5";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(sniff_file_type(fifo), FileType::Onnx);
}

}  // namespace
}  // namespace modelcut::test
