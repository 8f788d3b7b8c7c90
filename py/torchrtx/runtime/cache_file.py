"""Runtime-cache files on disk: atomic writes under a lock, and no silently lost updates.

* Writers hold ``<path>.lock`` (filelock) for a bounded time; when it cannot be had the
  save is skipped with a :class:`RuntimeCacheWarning`, so inference never hangs on it.
* A write goes to a temp file in the same directory, is flushed and fsync'd, then
  ``os.replace``'d over the target and the directory is fsync'd. A reader therefore sees
  the old file or the new one, never a torn one, and needs no lock; a failed write
  leaves the old file as it was.
* Lost updates: each cache remembers a :class:`Fingerprint` (inode, size and timestamps) of
  the file version it last loaded or wrote. A save first compares the file with the bytes to
  write: if they are equal nothing is written, so a process with no new kernels never changes
  the file under the others. Otherwise the file is replaced only if it is still the version
  this cache saw. If another writer replaced it meanwhile, TensorRT-RTX offers no way to merge
  two caches (``IRuntimeCache.deserialize`` replaces, it does not merge), so the new contents go
  to a sibling file ``<path>.<pid>-<n>.conflict`` and a warning names both files. Nothing is
  discarded, and no content hash is needed: a save that adds kernels (the file's size differs)
  costs one ``open`` and ``fstat`` before writing.
"""

from __future__ import annotations

import glob
import itertools
import logging
import os
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import filelock

from torchrtx._atomic_file import atomic_replace

__all__ = [
    "Fingerprint",
    "RuntimeCacheWarning",
    "SaveResult",
    "conflict_siblings",
    "read_cache_file",
    "remove_cache_file",
    "write_cache_file",
]

_log = logging.getLogger("torchrtx.runtime.cache")
_conflict_counter = itertools.count(1)
#: Bytes compared per read when checking whether a file already holds what a save would write
#: (small enough that the per-chunk copies reuse memory instead of mapping fresh pages).
_COMPARE_CHUNK_BYTES = 64 << 10


class RuntimeCacheWarning(UserWarning):
    """A runtime-cache file could not be read or written as asked (lock busy, conflict, I/O error)."""


@dataclass(frozen=True)
class Fingerprint:
    """Identity of one version of a cache file: writers replace files, so a new version has new metadata."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Fingerprint:
        """The fingerprint of the file version ``info`` describes."""
        return cls(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def same_file_version(self, info: os.stat_result) -> bool:
        """True when ``info`` describes the very file version this fingerprint was taken of."""
        return self == Fingerprint.of(info)


@dataclass(frozen=True)
class SaveResult:
    """Outcome of :func:`write_cache_file`.

    Attributes:
        written_to: The file the bytes went to (the target or a conflict sibling); ``""`` if skipped.
        fingerprint: Fingerprint of the target after the save, to compare against next time
            (unchanged from the caller's when the save was skipped; None when it was diverted).
    """

    written_to: str
    fingerprint: Fingerprint | None

    @property
    def conflict(self) -> bool:
        """True when the bytes went to a sibling file because the target changed meanwhile."""
        return bool(self.written_to) and self.fingerprint is None


def read_cache_file(path: str) -> tuple[bytes, Fingerprint | None]:
    """Read a whole cache file without locking (writers replace files atomically).

    Returns ``(b"", None)`` for a missing file, and also, with a :class:`RuntimeCacheWarning`,
    for one that cannot be read.
    """
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            data = file.read()
    except FileNotFoundError:
        return b"", None
    except OSError as exc:
        warnings.warn(f"cannot read runtime cache {path} ({exc}); starting with an empty cache",
                      RuntimeCacheWarning, stacklevel=3)
        return b"", None
    return data, Fingerprint.of(info)


def write_cache_file(path: str, data: bytes, expected: Fingerprint | None, lock_timeout: float) -> SaveResult:
    """Save ``data`` to ``path`` atomically, unless someone else changed ``path`` since ``expected``.

    ``expected`` is the fingerprint of what the caller last loaded or wrote there (None: it saw
    no file). Raises OSError when the write fails; the old file is then untouched.
    """
    try:
        with filelock.FileLock(path + ".lock", timeout=lock_timeout, mode=0o600):
            return _write_locked(path, data, expected)
    except filelock.Timeout:
        warnings.warn(
            f"runtime cache {path} is locked by another process for more than {lock_timeout:g}s; "
            "skipped saving it (the kernels stay in memory and are saved next time)",
            RuntimeCacheWarning, stacklevel=3)
        return SaveResult("", expected)


def _write_locked(path: str, data: bytes, expected: Fingerprint | None) -> SaveResult:
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return _replace_with(path, data)
    with file:
        on_disk = os.fstat(file.fileno())
        if _holds(file, on_disk, data):
            return SaveResult(path, Fingerprint.of(on_disk))
    if expected is not None and expected.same_file_version(on_disk):
        return _replace_with(path, data)
    return _divert_to_sibling(path, data)


def _holds(file: BinaryIO, info: os.stat_result, data: bytes) -> bool:
    """True when ``file`` (described by ``info``) holds exactly ``data``; stops at the first difference."""
    if info.st_size != len(data):
        return False
    for offset in range(0, len(data), _COMPARE_CHUNK_BYTES):
        wanted = data[offset:offset + _COMPARE_CHUNK_BYTES]
        if file.read(len(wanted)) != wanted:
            return False
    return True


def _replace_with(path: str, data: bytes) -> SaveResult:
    _atomic_write(path, data)
    return SaveResult(path, Fingerprint.of(os.stat(path)))


def _divert_to_sibling(path: str, data: bytes) -> SaveResult:
    sibling = f"{path}.{os.getpid()}-{next(_conflict_counter)}.conflict"
    _atomic_write(sibling, data)
    warnings.warn(
        f"runtime cache {path} was changed by another writer since this process loaded it; TensorRT-RTX "
        f"cannot merge runtime caches, so this process's cache was written to {sibling} instead of "
        "overwriting the other writer's kernels. Keep the one you want (or delete both to start fresh).",
        RuntimeCacheWarning, stacklevel=4)
    return SaveResult(sibling, None)


def _atomic_write(path: str, data: bytes) -> None:
    with atomic_replace(path) as temp:
        temp.write(data)
    _log.debug("wrote %d-byte runtime cache to %s", len(data), path)


def conflict_siblings(path: str) -> list[str]:
    """The ``<path>.<pid>-<n>.conflict`` files saves diverted from ``path``, oldest first."""
    return sorted(glob.glob(glob.escape(path) + ".*.conflict"), key=os.path.getmtime)


def remove_cache_file(path: str, lock_timeout: float) -> list[str]:
    """Delete ``path`` and its conflict siblings under the cache lock; return what was removed.

    Raises:
        TimeoutError: another process holds the lock for more than ``lock_timeout`` seconds.
    """
    try:
        with filelock.FileLock(path + ".lock", timeout=lock_timeout, mode=0o600):
            removed = []
            for name in [path, *conflict_siblings(path)]:
                try:
                    os.remove(name)
                except FileNotFoundError:
                    continue
                removed.append(name)
            return removed
    except filelock.Timeout:
        raise TimeoutError(
            f"runtime cache {path} is locked by another process; try again when it is not saving"
        ) from None
