// Overflow-checked arithmetic for sizes read from files: element counts,
// byte counts and shape products. A model states its dims as int64 values
// that nothing bounds; multiplying them unchecked is undefined behaviour
// (signed) or a silently wrapped, wrong size (unsigned). Each helper returns
// nullopt instead of a wrapped result, so the caller can refuse the input.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace modelcut {

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

// The number of elements of a tensor with these dims; nullopt when a dim is
// negative or the product does not fit in 64 bits.
inline std::optional<std::uint64_t> element_count(const std::vector<std::int64_t>& dims) {
  std::uint64_t count = 1;
  for (std::int64_t size : dims) {
    if (size < 0) return std::nullopt;
    auto next = checked_mul(count, static_cast<std::uint64_t>(size));
    if (!next) return std::nullopt;
    count = *next;
  }
  return count;
}

// Bytes taken by `count` elements of `bits` bits each, packed (4-bit types
// share bytes); nullopt on overflow.
inline std::optional<std::uint64_t> packed_bytes(std::uint64_t count, std::uint64_t bits) {
  // Whole groups of 8 elements take `bits` bytes each; counting in bits
  // would overflow 8 times sooner.
  auto whole = checked_mul(count / 8, bits);
  auto rest = checked_mul(count % 8, bits);
  if (!whole || !rest) return std::nullopt;
  return checked_add(*whole, *rest / 8 + (*rest % 8 != 0 ? 1 : 0));
}

}  // namespace modelcut
