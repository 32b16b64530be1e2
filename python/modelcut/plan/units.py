# Sizes, rates and durations as people write them on a command line: "16MB",
# "1GiB", "10MB/s", "100Mbit/s", "20ms". Decimal prefixes are powers of 1000,
# binary ones (KiB, MiB, ...) powers of 1024; "b"/"bit" is a bit, "B" a byte.
# Every parser returns a finite number and raises ValueError naming the option.
from __future__ import annotations

import math
import re

_NUMBER = r"(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_PREFIXES = {
    "": 1,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
_SIZE = re.compile(_NUMBER + r"\s*(?P<prefix>Ki|Mi|Gi|Ti|k|K|M|G|T|)(?P<unit>B|bit|b|)$")
_RATE = re.compile(
    _NUMBER + r"\s*(?P<prefix>Ki|Mi|Gi|Ti|k|K|M|G|T|)(?:(?P<unit>B|bit|b)(?:/s|ps)|(?P<bps>bps)|)$"
)
_DURATION = re.compile(_NUMBER + r"\s*(?P<unit>ns|us|µs|ms|s|)$")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "": 1.0}


def _scaled(match: re.Match, option: str, text: str) -> float:
    number = float(match.group("number")) * _PREFIXES[match.group("prefix")]
    if match.groupdict().get("unit") in ("b", "bit") or match.groupdict().get("bps"):
        number /= 8
    if not math.isfinite(number):
        raise ValueError(f"{option} {text!r} is too large")
    return number


def parse_bytes(text: str, option: str = "size") -> int:
    """Bytes: "16MB", "1GiB", "512" (bytes), "8Mbit"."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"{option} {text!r} is not a size: write e.g. 16MB, 1GiB or 4096 (bytes)")
    value = _scaled(match, option, text)
    if value >= 2**63:
        raise ValueError(f"{option} {text!r} is too large")
    return int(value)


def parse_rate(text: str, option: str = "bandwidth") -> float:
    """Bytes per second: "10MB/s", "1GiB/s", "100Mbit/s", "100Mbps", "5e6" (bytes/s); must be > 0."""
    match = _RATE.match(text.strip())
    if match is None:
        raise ValueError(f"{option} {text!r} is not a rate: write e.g. 10MB/s, 1GiB/s or 100Mbit/s")
    value = _scaled(match, option, text)
    if value <= 0:
        raise ValueError(f"{option} {text!r} must be more than 0")
    return value


def parse_rates(text: str, option: str = "--sweep") -> list[float]:
    """A comma-separated list of rates, e.g. "1MB/s,10MB/s,100MB/s"."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError(f"{option} {text!r} lists no rate: write e.g. 1MB/s,10MB/s,100MB/s")
    return [parse_rate(part, option) for part in parts]


def parse_seconds(text: str, option: str = "duration") -> float:
    """Seconds: "20ms", "1.5s", "300us"; a bare number is seconds; must be >= 0."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{option} {text!r} is not a duration: write e.g. 20ms, 0.5s or 300us")
    value = float(match.group("number")) * _SECONDS[match.group("unit")]
    if not math.isfinite(value):
        raise ValueError(f"{option} {text!r} is too large")
    return value


def format_bytes(count: float | None) -> str:
    """1536 -> "1.5 KiB"; None -> "?"."""
    if count is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return "?"


def format_rate(bytes_per_second: float) -> str:
    """Decimal, as links are sold: 1.25e6 -> "1.25 MB/s"."""
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if bytes_per_second >= scale:
            return f"{bytes_per_second / scale:.3g} {unit}"
    return f"{bytes_per_second:.3g} B/s"


def format_count(count: float) -> str:
    """1.2e9 -> "1.20 G"."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(count) >= scale:
            return f"{count / scale:.2f} {unit}"
    return f"{count:.0f}"


def format_seconds(seconds: float) -> str:
    """0.0123 -> "12.3 ms"."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"
