// Text as the Python command writes it: repr() of a name (quotes and escapes
// chosen as Python does) and byte counts in KiB/MiB/GiB, so that the native
// executable and `python -m modelcut.cli` print the same lines. Names are raw
// bytes from the model file or the command line; bytes that are not UTF-8
// show as Python shows the surrogate escapes it decodes them to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelcut::cli {

// Python's repr() of a str decoded from `bytes` with surrogateescape.
std::string python_repr(std::string_view bytes);

// cli.py's _format_bytes: "512 B", "1.5 KiB", ... and "?" when unknown.
std::string format_bytes(std::optional<std::uint64_t> count);

// Decodes one UTF-8 code point at `bytes[i]` as Python's surrogateescape
// decoder would: returns the code point (0xdc80 + byte for a byte that does
// not start a valid sequence) and advances `i`.
std::uint32_t next_code_point(std::string_view bytes, std::size_t& i);

// Python's len() of text decoded with surrogateescape: code points.
std::size_t code_point_count(std::string_view bytes);

}  // namespace modelcut::cli
