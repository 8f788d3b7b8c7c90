"""Runtime-cache files on disk: atomic writes under a lock, and no silently lost updates.

* Writers hold ``<path>.lock`` (filelock) for a bounded time; when it cannot be had the
  save is skipped with a :class:`RuntimeCacheWarning`, so inference never hangs on it.
* A write goes to a temp file in the same directory, is flushed and fsync'd, then
  ``os.replace``'d over the target and the directory is fsync'd. A reader therefore sees
  the old file or the new one, never a torn one, and needs no lock; a failed write
  leaves the old file as it was.
* Lost updates: each cache remembers a :class:`Fingerprint` of the file it last loaded
  or wrote. If at save time the file has changed since (another process saved in
  between), TensorRT-RTX offers no way to merge two caches (``IRuntimeCache.deserialize``
  replaces, it does not merge), so the new contents go to a sibling file
  ``<path>.<pid>-<n>.conflict`` and a warning names both files. Nothing is discarded.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import filelock

from torchrtx._atomic_file import atomic_replace

__all__ = ["Fingerprint", "RuntimeCacheWarning", "SaveResult", "read_cache_file", "write_cache_file"]

_log = logging.getLogger("torchrtx.runtime.cache")
_conflict_counter = itertools.count(1)
_INLINE_DIGEST_BYTES = 1 << 20
_digest_pool: ThreadPoolExecutor | None = None
_digest_pool_lock = threading.Lock()


class RuntimeCacheWarning(UserWarning):
    """A runtime-cache file could not be read or written as asked (lock busy, conflict, I/O error)."""


@dataclass(frozen=True)
class Fingerprint:
    """Identity of one version of a cache file: its inode and timestamps, plus a content digest."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    pending_digest: Future[bytes] = field(compare=False, repr=False)

    @property
    def digest(self) -> bytes:
        """SHA-256 of the contents (waits for the background hash if it is still running)."""
        return self.pending_digest.result()

    def same_file_version(self, info: os.stat_result) -> bool:
        """True when ``info`` describes the very file version this fingerprint was taken of."""
        return (self.inode, self.size, self.mtime_ns, self.ctime_ns) == (
            info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@dataclass(frozen=True)
class SaveResult:
    """Outcome of :func:`write_cache_file`.

    Attributes:
        written_to: The file the bytes went to (the target or a conflict sibling); ``""`` if skipped.
        fingerprint: Fingerprint of the target after the save, to compare against next time
            (unchanged from the caller's when the save was skipped or diverted to a sibling).
    """

    written_to: str
    fingerprint: Fingerprint | None

    @property
    def conflict(self) -> bool:
        """True when the bytes went to a sibling file because the target changed meanwhile."""
        return bool(self.written_to) and self.fingerprint is None


def content_digest(data: bytes | memoryview) -> bytes:
    """Digest used to tell two cache versions apart."""
    return hashlib.sha256(data).digest()


def _digest_later(data: bytes) -> Future[bytes]:
    # The digest is only needed when a later save finds the file's identity changed, so large
    # blobs are hashed on a background thread instead of slowing every load and save down.
    if len(data) <= _INLINE_DIGEST_BYTES:
        done: Future[bytes] = Future()
        done.set_result(content_digest(data))
        return done
    global _digest_pool
    with _digest_pool_lock:
        if _digest_pool is None:
            _digest_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torchrtx-cache-digest")
        return _digest_pool.submit(content_digest, data)


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
    return data, _fingerprint(info, _digest_later(data))


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
    current = _stat_or_none(path)
    if current is not None and not (expected is not None and expected.same_file_version(current)):
        on_disk = _read_bytes_or_none(path)
        if on_disk is not None and on_disk == data:
            return SaveResult(path, _fingerprint(current, _digest_later(on_disk)))
        if on_disk is not None and not (expected is not None and content_digest(on_disk) == expected.digest):
            return _divert_to_sibling(path, data)
    _atomic_write(path, data)
    return SaveResult(path, _fingerprint(os.stat(path), _digest_later(data)))


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


def _fingerprint(info: os.stat_result, digest: Future[bytes]) -> Fingerprint:
    return Fingerprint(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, digest)


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _read_bytes_or_none(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None
