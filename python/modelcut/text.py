# Names from a model file made printable on one line, as the C++
# modelcut::printable() makes them: every message, table row and error line
# of the command line goes through printable().
from __future__ import annotations

import re

# What would break a line or hide what a name is: control characters, line
# and paragraph separators, bidirectional overrides, and lone surrogates
# (bytes of a file name that were not UTF-8). The same set as the C++
# modelcut::printable().
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    r"\ud800-\udfff]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as one printable line: see _UNPRINTABLE."""
    return _UNPRINTABLE.sub(_escape, text)
