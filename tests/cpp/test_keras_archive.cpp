// The pieces of writing a .keras part at disk speed: the CRC-32 computed
// while copying must be zlib's, for every length and alignment (the folding
// path takes 64 bytes and more, zlib the tail).
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <vector>

#include "formats/keras/crc32.h"

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

}  // namespace
}  // namespace modelcut::keras
