"""Helpers of the planning tests: the CLI's one-line errors."""

from __future__ import annotations


def assert_one_line_error(result, *fragments):
    """Exit 2 and one line "modelcut: error: ..." holding every fragment."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("modelcut: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
