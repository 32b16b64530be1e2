// CRC-32 by folding with carry-less multiplication (see crc32.h). The
// method is Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ" (Gopal et al., 2009) for the bit-reflected polynomial
// 0xEDB88320: four 128-bit lanes are folded 512 bits ahead, then into one,
// then reduced to 32 bits by a Barrett reduction. The constants are
// x^k mod P(x) for the fold distances (bit-reflected, shifted by one), as
// the paper derives them. The state is the "raw" CRC (no inversion); zlib's
// convention inverts it before and after.
#include "crc32.h"

#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace modelcut::keras {
namespace {

std::uint32_t zlib_crc(std::uint32_t crc, const unsigned char* data, std::size_t size) {
  // zlib takes at most 4 GiB - 1 bytes at a time.
  while (size > 0) {
    const std::size_t piece = size > (1u << 30) ? (1u << 30) : size;
    crc = static_cast<std::uint32_t>(crc32(crc, data, static_cast<uInt>(piece)));
    data += piece;
    size -= piece;
  }
  return crc;
}

#if defined(__x86_64__)

#define MODELCUT_CLMUL __attribute__((target("pclmul,sse4.1")))

MODELCUT_CLMUL inline __m128i load(const unsigned char* at) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
}

// One lane folded over the distance `k` stands for, then the data there added.
MODELCUT_CLMUL inline __m128i fold_into(__m128i lane, __m128i k, __m128i next) {
  const __m128i low = _mm_clmulepi64_si128(lane, k, 0x00);
  const __m128i high = _mm_clmulepi64_si128(lane, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(low, high), next);
}

// Folds `size` bytes (a multiple of 16, at least 64) into the raw CRC.
MODELCUT_CLMUL std::uint32_t fold(std::uint32_t raw, const unsigned char* data, std::size_t size) {
  const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);  // fold by 512 bits
  const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);  // fold by 128 bits
  const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);              // 64 -> 32 bits
  const __m128i poly = _mm_set_epi64x(0x1f7011641, 0x1db710641);  // Barrett: u and P(x)
  const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);

  __m128i x1 = _mm_xor_si128(load(data), _mm_cvtsi32_si128(static_cast<int>(raw)));
  __m128i x2 = load(data + 16);
  __m128i x3 = load(data + 32);
  __m128i x4 = load(data + 48);
  data += 64;
  size -= 64;
  while (size >= 64) {
    x1 = fold_into(x1, k1k2, load(data));
    x2 = fold_into(x2, k1k2, load(data + 16));
    x3 = fold_into(x3, k1k2, load(data + 32));
    x4 = fold_into(x4, k1k2, load(data + 48));
    data += 64;
    size -= 64;
  }
  x1 = fold_into(x1, k3k4, x2);
  x1 = fold_into(x1, k3k4, x3);
  x1 = fold_into(x1, k3k4, x4);
  while (size >= 16) {
    x1 = fold_into(x1, k3k4, load(data));
    data += 16;
    size -= 16;
  }
  // 128 -> 64 bits (appending 32 zero bits), then 64 -> 32.
  __m128i x = _mm_xor_si128(_mm_clmulepi64_si128(k3k4, x1, 0x01), _mm_srli_si128(x1, 8));
  x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5, 0x00));
  // Barrett reduction.
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
  return static_cast<std::uint32_t>(_mm_extract_epi32(_mm_xor_si128(x, t), 1));
}

bool has_clmul() {
  static const bool supported = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return supported;
}

#endif

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const unsigned char* data, std::size_t size) {
#if defined(__x86_64__)
  if (size >= 64 && has_clmul()) {
    const std::size_t bulk = size & ~std::size_t{15};
    const std::uint32_t raw = fold(~crc, data, bulk);
    return zlib_crc(~raw, data + bulk, size - bulk);
  }
#endif
  return zlib_crc(crc, data, size);
}

}  // namespace modelcut::keras
