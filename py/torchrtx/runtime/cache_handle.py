"""The Python runtime's inner cache handle: one backend IRuntimeCache plus pending bytes.

TensorRT-RTX can only create an ``IRuntimeCache`` from an ``IRuntimeConfig``, which
exists once an engine is deserialized. Bytes loaded before that wait here as
*pending bytes*; the first :meth:`_RuntimeCacheHandle.ensure_materialized` creates
the backend cache and drains them into it while holding the handle's lock, so no
reader ever sees a half-initialized cache.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any, Protocol, runtime_checkable

__all__ = ["RuntimeCacheHandleProtocol", "RuntimeCacheRejectedWarning", "_RuntimeCacheHandle"]

_log = logging.getLogger("torchrtx.runtime.cache")


class RuntimeCacheRejectedWarning(UserWarning):
    """The backend refused a cache blob (corrupt, or from another GPU/driver/TensorRT-RTX version)."""


@runtime_checkable
class RuntimeCacheHandleProtocol(Protocol):
    """What :class:`~torchrtx.runtime.RuntimeCache` needs from an inner handle (Python or C++)."""

    def serialize(self) -> bytes:
        """The cache contents (pending bytes while not materialized)."""
        ...

    def deserialize(self, blob: bytes) -> bool:
        """Load ``blob``; False when the backend rejected it."""
        ...

    def has_cache(self) -> bool:
        """True once the backend IRuntimeCache exists."""
        ...

    def ensure_materialized(self, runtime_config: Any) -> Any:
        """Return the backend IRuntimeCache, creating it from ``runtime_config`` on first use."""
        ...


class _RuntimeCacheHandle:
    """Owns at most one backend ``IRuntimeCache``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: Any = None
        self._pending = b""

    @property
    def pending_size(self) -> int:
        """Number of bytes waiting for the backend cache to exist."""
        with self._lock:
            return len(self._pending)

    def has_cache(self) -> bool:
        """True once the backend IRuntimeCache has been created."""
        with self._lock:
            return self._cache is not None

    def ensure_materialized(self, runtime_config: Any) -> Any:
        """Return the backend cache, creating it from ``runtime_config`` and draining pending bytes once."""
        with self._lock:
            if self._cache is None:
                cache = runtime_config.create_runtime_cache()
                pending, self._pending = self._pending, b""
                if pending and not cache.deserialize(pending):
                    _warn_rejected(len(pending))
                self._cache = cache
                _log.debug("materialized runtime cache (%d pending bytes drained)", len(pending))
            return self._cache

    def serialize(self) -> bytes:
        """Current contents: the backend cache's blob, or the pending bytes before it exists."""
        with self._lock:
            if self._cache is None:
                return self._pending
            return bytes(memoryview(self._cache.serialize()))

    def deserialize(self, blob: bytes) -> bool:
        """Load ``blob`` (replacing what was there); before materialization it becomes the pending bytes.

        Returns False, with a :class:`RuntimeCacheRejectedWarning`, when the backend rejects the
        blob; the cache then keeps its previous contents. Pending bytes are only checked by the
        backend when they are drained.
        """
        blob = bytes(blob)
        with self._lock:
            if self._cache is None:
                self._pending = blob
                return True
            accepted = bool(self._cache.deserialize(blob))
        if not accepted:
            _warn_rejected(len(blob))
        return accepted


def _warn_rejected(size: int) -> None:
    warnings.warn(
        f"TensorRT-RTX rejected a {size}-byte runtime cache (corrupt, or written on another GPU, driver "
        "or TensorRT-RTX version); ignoring it. Kernels it would have held are compiled again when needed.",
        RuntimeCacheRejectedWarning,
        stacklevel=3,
    )
