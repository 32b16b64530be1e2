# How every Python writer of modelcut writes an output: through the core's own
# checks and renames (src/util/output_files.h), so that Python and C++ follow
# one rule. An output never replaces a file the command read, exists only when
# the user asked to replace it, is only ever a regular file or a folder of them
# (never a device, FIFO, socket or link), and is never seen half-written.
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from . import _core


def check_output(target: str | os.PathLike, reads: Iterable[str | os.PathLike], overwrite: bool) -> None:
    """Raises modelcut.Error unless `target` may be written, before any work
    is done: not one of `reads` (the files the command reads) nor a folder
    holding one, not existing unless `overwrite`, and nothing but a regular
    file or a folder of them."""
    _core.check_output_path(os.fspath(target), [os.fspath(path) for path in reads], overwrite)


@contextmanager
def output_file(target: str | os.PathLike) -> Iterator[str]:
    """The path of a new empty file beside `target` (hidden, same extension)
    to write in full; renamed to `target` when the block ends without error,
    removed otherwise. Call check_output() first: this replaces an existing regular
    file, and refuses anything else."""
    target = os.fspath(target)
    temporary = _core.temporary_file(target)
    try:
        yield temporary
        _core.replace_file(temporary, target)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def move_output_folder(staging: str | os.PathLike, target: str | os.PathLike, overwrite: bool) -> None:
    """Moves the complete folder `staging` (beside `target`) to `target`,
    replacing it only with `overwrite` and only as check_output() allows."""
    _core.replace_directory(os.fspath(staging), os.fspath(target), overwrite)
