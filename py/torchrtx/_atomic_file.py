"""Replace a file atomically: readers see the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["atomic_replace"]


@contextlib.contextmanager
def atomic_replace(path: str) -> Iterator[BinaryIO]:
    """Yield a temp file in ``path``'s directory; on a clean exit it replaces ``path`` durably.

    The temp file is flushed and fsynced, moved over ``path`` with ``os.replace`` and the
    directory is fsynced so the rename survives a crash. If the block raises, the temp
    file is removed and ``path`` is left as it was. New files are readable by their owner only.

    Raises:
        FileNotFoundError: ``path``'s directory does not exist (nothing is written).
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except FileNotFoundError:
        # mkstemp's own message names the random temp file, not the file the caller asked for.
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path}: no such directory", directory) from None
    try:
        with os.fdopen(fd, "wb") as temp:
            yield temp
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError as exc:
        # Some filesystems cannot fsync a directory; the rename itself already happened.
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(dir_fd)
