// The pieces of writing a .keras part at disk speed: the CRC-32 computed
// while copying must be zlib's, for every length and alignment (the folding
// path takes 64 bytes and more, zlib the tail); a part archive, with and
// without zip64 records, must read back through libzip (which checks every
// CRC) and through the in-place reader, its datasets equal to the source's.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <filesystem>
#include <random>
#include <vector>

#include "formats/keras/crc32.h"
#include "formats/keras/hdf5_file.h"
#include "formats/keras/hdf5_structure_copy.h"
#include "formats/keras/keras_part_archive.h"
#include "formats/keras/zip_stored_member.h"

namespace modelcut::keras {
namespace {

TEST(Crc32, MatchesZlibForEveryLengthAndAlignment) {
  std::mt19937 random(7);
  std::vector<unsigned char> bytes(70000);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  for (std::size_t size : {0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 95, 127, 128, 129, 1000, 4096, 65536}) {
    for (std::size_t offset : {0, 1, 3, 8, 15}) {
      for (std::uint32_t start : {0u, 0xFFFFFFFFu, 0x12345678u}) {
        const auto expected = static_cast<std::uint32_t>(crc32(start, bytes.data() + offset, static_cast<uInt>(size)));
        EXPECT_EQ(crc32_update(start, bytes.data() + offset, size), expected)
            << "size " << size << ", offset " << offset << ", start " << start;
      }
    }
  }
}

TEST(Crc32, PiecesChainLikeOneCall) {
  std::vector<unsigned char> bytes(10000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 31 + 7);
  std::uint32_t pieces = 0;
  for (std::size_t at = 0, step = 1; at < bytes.size(); at += step, step = step * 3 + 1) {
    const std::size_t size = std::min(step, bytes.size() - at);
    pieces = crc32_update(pieces, bytes.data() + at, size);
  }
  EXPECT_EQ(pieces, static_cast<std::uint32_t>(crc32(0, bytes.data(), static_cast<uInt>(bytes.size()))));
  EXPECT_EQ(crc32_update(0, reinterpret_cast<const unsigned char*>("123456789"), 9), 0xCBF43926u);
}

namespace fs = std::filesystem;

// A source weights file as Keras lays one out: layers/dense/vars/{0,1}.
void write_source(const fs::path& path, const std::vector<float>& kernel, const std::vector<float>& bias) {
  h5::File file = h5::File::create(path);
  h5::create_group(file, "layers/dense/vars");
  h5::write_string_attribute(file, "layers/dense/vars", "name", "fc");
  auto dataset = [&](const char* name, const std::vector<float>& values) {
    const hsize_t size = values.size();
    h5::Handle space(H5Screate_simple(1, &size, nullptr));
    h5::Handle made(H5Dcreate2(file.id(), name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(made.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  };
  dataset("layers/dense/vars/0", kernel);
  dataset("layers/dense/vars/1", bias);
  file.close();
}

std::vector<float> read_floats(const h5::File& file, const char* name, std::size_t count) {
  std::vector<float> values(count);
  h5::Handle dataset(H5Dopen2(file.id(), name, H5P_DEFAULT));
  EXPECT_GE(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  return values;
}

std::string read_member(zip_t* archive, const char* name) {
  zip_file_t* file = zip_fopen(archive, name, 0);
  EXPECT_NE(file, nullptr) << name;
  if (file == nullptr) return {};
  std::string data;
  char buffer[4096];
  zip_int64_t got;
  while ((got = zip_fread(file, buffer, sizeof buffer)) > 0) data.append(buffer, static_cast<std::size_t>(got));
  EXPECT_EQ(got, 0) << name << ": " << zip_file_strerror(file);  // a wrong CRC-32 fails the last read
  zip_fclose(file);
  return data;
}

class PartArchiveTest : public testing::TestWithParam<std::uint64_t> {};

TEST_P(PartArchiveTest, ReadsBackThroughLibzipAndInPlace) {
  const fs::path folder = fs::temp_directory_path() / ("modelcut-part-archive-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::vector<float> kernel(5000), bias(7);
  for (std::size_t i = 0; i < kernel.size(); ++i) kernel[i] = static_cast<float>(i) * 0.5f - 3;
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<float>(i) + 0.25f;
  const std::string metadata = R"({"keras_version": "3.15.1"})";
  const std::string config = R"({"class_name": "Functional", "config": {}})";
  {
    std::lock_guard<std::mutex> lock(h5::library_lock());
    write_source(folder / "source.h5", kernel, bias);
    const h5::File source = h5::File::open_read(folder / "source.h5");
    PartArchive archive(folder / "part.keras", GetParam());
    ASSERT_TRUE(h5::copy_structure(source, "layers/dense", archive.weights(), "layers/dense", archive.raw()));
    EXPECT_EQ(archive.raw().size(), 2u);
    archive.finish(source.descriptor(), metadata, config);
  }
  int error = 0;
  zip_t* archive = zip_open((folder / "part.keras").c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  ASSERT_NE(archive, nullptr) << "libzip error " << error;
  ASSERT_EQ(zip_get_num_entries(archive, 0), 3);
  EXPECT_STREQ(zip_get_name(archive, 0, 0), "metadata.json");
  EXPECT_STREQ(zip_get_name(archive, 2, 0), "model.weights.h5");
  EXPECT_EQ(read_member(archive, "metadata.json"), metadata);
  EXPECT_EQ(read_member(archive, "config.json"), config);
  const std::string weights = read_member(archive, "model.weights.h5");
  zip_discard(archive);
  EXPECT_EQ(weights.substr(0, 4), "\x89HDF");

  const auto span = find_stored_member(folder / "part.keras", "model.weights.h5", weights.size());
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->offset, 512u);
  {
    std::lock_guard<std::mutex> lock(h5::library_lock());
    const h5::File part = h5::File::open_read_at(folder / "part.keras", *span, "part.keras:model.weights.h5");
    EXPECT_EQ(read_floats(part, "layers/dense/vars/0", kernel.size()), kernel);
    EXPECT_EQ(read_floats(part, "layers/dense/vars/1", bias.size()), bias);
    EXPECT_EQ(h5::read_string_attribute(part, "layers/dense/vars", "name").value_or(""), "fc");
  }
  fs::remove_all(folder);
}

// 4 GiB - 1: zip64 records only where zip needs them (none here); 1: for
// every size and offset, as a part over 4 GiB gets them.
INSTANTIATE_TEST_SUITE_P(Zip, PartArchiveTest, testing::Values(std::uint64_t{0xFFFFFFFF}, std::uint64_t{1}));

}  // namespace
}  // namespace modelcut::keras
