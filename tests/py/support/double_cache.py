"""The double's IRuntimeCache: JIT "kernels" with a real, versioned, self-checking blob format.

Blob layout (little endian)::

    magic b"TRTXDBLC" | u32 format version | u32 len + environment fingerprint (utf-8)
    | u32 entry count | (u32 len + entry key (utf-8))* | u32 crc32 of everything before

``deserialize`` returns False, leaving the cache unchanged, for a blob that is
truncated, corrupt, of another format version or from another environment — the
way the real cache rejects blobs from another GPU, driver or TensorRT-RTX version.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterable

__all__ = ["BLOB_MAGIC", "BLOB_VERSION", "IHostMemory", "IRuntimeCache", "decode_blob", "encode_blob"]

BLOB_MAGIC = b"TRTXDBLC"
BLOB_VERSION = 1
_U32 = struct.Struct("<I")


class IHostMemory(bytes):
    """What ``serialize()`` returns: the buffer protocol plus ``nbytes``, like the real one."""

    @property
    def nbytes(self) -> int:
        return len(self)


def _text(text: str) -> bytes:
    raw = text.encode()
    return _U32.pack(len(raw)) + raw


def encode_blob(environment: str, entries: Iterable[str]) -> bytes:
    """Serialize ``entries`` for ``environment`` in the blob format above."""
    ordered = sorted(entries)
    body = (
        BLOB_MAGIC
        + _U32.pack(BLOB_VERSION)
        + _text(environment)
        + _U32.pack(len(ordered))
        + b"".join(_text(entry) for entry in ordered)
    )
    return body + _U32.pack(zlib.crc32(body))


def decode_blob(blob: bytes, environment: str) -> frozenset[str] | None:
    """The entries of ``blob``, or None if it is corrupt, of another version or from another environment."""
    if len(blob) < len(BLOB_MAGIC) + 4 * 4 or not blob.startswith(BLOB_MAGIC):
        return None
    body, (crc,) = blob[:-4], _U32.unpack(blob[-4:])
    if zlib.crc32(body) != crc:
        return None
    offset = len(BLOB_MAGIC)
    try:
        (version,) = _U32.unpack_from(body, offset)
        offset += 4
        if version != BLOB_VERSION:
            return None
        blob_env, offset = _read_text(body, offset)
        if blob_env != environment:
            return None
        (count,) = _U32.unpack_from(body, offset)
        offset += 4
        entries = []
        for _ in range(count):
            entry, offset = _read_text(body, offset)
            entries.append(entry)
    except (struct.error, UnicodeDecodeError, ValueError):
        return None
    return frozenset(entries) if offset == len(body) else None


def _read_text(body: bytes, offset: int) -> tuple[str, int]:
    (length,) = _U32.unpack_from(body, offset)
    offset += 4
    if offset + length > len(body):
        raise ValueError("truncated")
    return body[offset : offset + length].decode(), offset + length


class IRuntimeCache:
    """Kernels compiled at run time, shared by every context whose runtime config holds this cache."""

    def __init__(self, environment: str) -> None:
        self._environment = environment
        self._kernels: set[str] = set()
        self._lock = threading.Lock()

    def serialize(self) -> IHostMemory:
        """The cache as a versioned blob."""
        with self._lock:
            return IHostMemory(encode_blob(self._environment, self._kernels))

    def deserialize(self, blob: bytes) -> bool:
        """Replace the contents with ``blob``'s; False (cache unchanged) if the blob is rejected."""
        entries = decode_blob(bytes(memoryview(blob)), self._environment)
        if entries is None:
            return False
        with self._lock:
            self._kernels = set(entries)
        return True

    def reset(self) -> bool:
        """Forget every kernel."""
        with self._lock:
            self._kernels.clear()
        return True

    def _record_kernel(self, key: str) -> None:
        with self._lock:
            self._kernels.add(key)
