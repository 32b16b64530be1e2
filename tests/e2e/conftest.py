"""The end-to-end tests' summary line; their zoo_model fixture is tests/conftest.py's."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from cut_log import CUT_RESULTS  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if not CUT_RESULTS:
        return
    identical = sum(1 for *_, same in CUT_RESULTS if same)
    worst = max(error for _, _, error, _ in CUT_RESULTS)
    terminalreporter.write_line(
        f"end-to-end cuts: {len(CUT_RESULTS)} verified on ONNX Runtime, {identical} bit-identical, "
        f"largest max abs error {worst:.3g}"
    )
