// The CRC-32 of zip (and zlib, gzip), at memory speed: the weights member of
// a part is checksummed while it is copied, and zlib's table-driven crc32
// (about 1.5 GB/s here) would cost more than the copy itself. On x86-64
// with carry-less multiplication (PCLMULQDQ), 64 bytes are folded per step;
// elsewhere, and for short tails, zlib computes it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace modelcut::keras {

// As zlib's crc32(crc, data, size): start from 0, feed consecutive pieces.
std::uint32_t crc32_update(std::uint32_t crc, const unsigned char* data, std::size_t size);

}  // namespace modelcut::keras
