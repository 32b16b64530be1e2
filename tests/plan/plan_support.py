"""Helpers of the planning tests: the CLI's one-line errors."""

from __future__ import annotations

from cli_support import assert_one_line_error  # noqa: F401 - the planning tests import it from here
