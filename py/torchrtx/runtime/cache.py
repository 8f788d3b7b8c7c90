"""RuntimeCache: the user-facing handle on a TensorRT-RTX runtime (JIT kernel) cache.

The facade owns persistence (files, streams, autosave) and forwards cache contents to an
inner handle through :class:`~torchrtx.runtime.cache_handle.RuntimeCacheHandleProtocol`,
so a C++ runtime handle can replace the Python one without callers changing.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
import weakref
from typing import IO, Any

from torchrtx.runtime.cache_dir import ensure_private_dir, is_default_cache_path
from torchrtx.runtime.cache_file import Fingerprint, RuntimeCacheWarning, read_cache_file, write_cache_file
from torchrtx.runtime.cache_handle import RuntimeCacheHandleProtocol, _RuntimeCacheHandle

__all__ = ["DEFAULT_LOCK_TIMEOUT_S", "RuntimeCache", "RuntimeCacheWarning", "check_binary_stream"]

#: How long a save waits for another process's lock on the cache file before skipping.
DEFAULT_LOCK_TIMEOUT_S = 10.0


class _Persistence:
    """What a cache knows about the files it touched; shared with the autosave finalizer."""

    def __init__(self, lock_timeout: float) -> None:
        self.lock_timeout = lock_timeout
        self.lock = threading.Lock()
        self.seen: dict[str, Fingerprint | None] = {}

    def load(self, handle: RuntimeCacheHandleProtocol, path: str) -> bool:
        _check_dir(path, create=False)
        data, fingerprint = read_cache_file(path)
        with self.lock:
            self.seen[os.path.realpath(path)] = fingerprint
        return bool(data) and handle.deserialize(data)

    def save(self, handle: RuntimeCacheHandleProtocol, path: str) -> str:
        data = handle.serialize()
        if not data:
            return ""
        _check_dir(path, create=True)
        key = os.path.realpath(path)
        with self.lock:
            result = write_cache_file(path, data, self.seen.get(key), self.lock_timeout)
            if result.written_to and not result.conflict:
                self.seen[key] = result.fingerprint
        return result.written_to


class RuntimeCache:
    """A TensorRT-RTX runtime cache that can be shared by engines and kept on disk.

    Args:
        path: Default file for :meth:`load` and :meth:`save`; ``""`` for a cache used with
            streams or kept in memory only.
        autosave_on_del: Save to ``path`` when this object is garbage collected or the
            interpreter exits (modules use this for the caches they create from a path).
        lock_timeout: Seconds a save waits for another writer's file lock before it is
            skipped with a :class:`RuntimeCacheWarning`.

    Bytes loaded before any engine has created its execution context wait as pending
    bytes; the first engine to need the cache creates the backend ``IRuntimeCache`` and
    drains them into it at once. All methods are thread-safe.

    Example::

        rc = RuntimeCache("/var/cache/jit.bin")
        rc.load()
        mod.runtime_settings = RuntimeSettings(runtime_cache=rc)
        mod(x)
        rc.save()
    """

    def __init__(self, path: str | os.PathLike[str] = "", autosave_on_del: bool = False, *,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self._path = os.fspath(path)
        self._autosave_on_del = bool(autosave_on_del and self._path)
        self._handle: RuntimeCacheHandleProtocol = _RuntimeCacheHandle()
        self._persistence = _Persistence(lock_timeout)
        if self._autosave_on_del:
            # finalize (not __del__) also runs at interpreter exit, and must not hold ``self``.
            weakref.finalize(self, _autosave, self._handle, self._persistence, self._path)

    @property
    def autosave_on_del(self) -> bool:
        """Whether this cache saves itself to :attr:`path` when collected or at interpreter exit."""
        return self._autosave_on_del

    @property
    def path(self) -> str:
        """The file this cache loads from and saves to by default (``""`` when it has none)."""
        return self._path

    def is_cpp_runtime(self) -> bool:
        """True when the inner handle belongs to the C++ runtime (always False in this build)."""
        return False

    def has_cache(self) -> bool:
        """True once an engine has created the backend IRuntimeCache behind this object."""
        return self._handle.has_cache()

    def load(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Load the cache from ``path`` (default: :attr:`path`).

        A missing file leaves the cache empty. An unreadable file, or one the backend rejects,
        gives a warning and leaves the cache as it was. Returns True when bytes were accepted
        (or are pending until an engine materializes the cache).
        """
        return self._persistence.load(self._handle, self._target(path))

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Save the cache to ``path`` (default: :attr:`path`) atomically; return the file written.

        Returns ``""`` when there was nothing to save or the file lock could not be had in time
        (a warning says so). A file that already holds these bytes is left untouched. If the file
        changed since this cache loaded or saved it, the bytes go to a sibling
        ``<path>.<pid>-<n>.conflict`` file instead, with a warning. Raises
        OSError if writing fails; the previous file is then left intact.
        """
        return self._persistence.save(self._handle, self._target(path))

    def load_from_stream(self, stream: IO[bytes]) -> bool:
        """Read the rest of a binary stream into the cache; TypeError for a text stream."""
        check_binary_stream(stream)
        data = stream.read()
        if isinstance(data, str):
            raise TypeError(_TEXT_STREAM_MESSAGE.format(stream=stream))
        return bool(data) and self._handle.deserialize(bytes(data))

    def save_to_stream(self, stream: IO[bytes]) -> int:
        """Write the cache contents to a binary stream; return the number of bytes written."""
        check_binary_stream(stream)
        data = self._handle.serialize()
        stream.write(data)
        stream.flush()
        return len(data)

    def ensure_materialized(self, runtime_config: Any) -> Any:
        """Return the backend IRuntimeCache, creating it from ``runtime_config`` on first use.

        Called by the runtime when it attaches this cache to an engine; pending bytes are
        drained into the new backend cache before any engine sees it.
        """
        return self._handle.ensure_materialized(runtime_config)

    def __repr__(self) -> str:
        state = "materialized" if self.has_cache() else "pending"
        return f"RuntimeCache(path={self._path!r}, autosave_on_del={self.autosave_on_del}, {state})"

    def _target(self, path: str | os.PathLike[str] | None) -> str:
        target = self._path if path is None else os.fspath(path)
        if not target:
            raise ValueError("this RuntimeCache has no path; pass one, or use load_from_stream/"
                             "save_to_stream")
        return target

    def __getstate__(self) -> Any:
        raise TypeError("RuntimeCache cannot be pickled: kernels are tied to this GPU and driver; "
                        "save it to a file and load it in the other process")


_TEXT_STREAM_MESSAGE = ("runtime cache streams must be binary (a file opened with 'rb', 'wb' or 'r+b', "
                        "or io.BytesIO); got text stream {stream!r}")


def check_binary_stream(stream: object) -> None:
    """Raise TypeError unless ``stream`` looks like a binary file object."""
    if isinstance(stream, io.TextIOBase) or "b" not in getattr(stream, "mode", "b"):
        raise TypeError(_TEXT_STREAM_MESSAGE.format(stream=stream))
    if not (callable(getattr(stream, "read", None)) or callable(getattr(stream, "write", None))):
        raise TypeError(f"expected a binary file object with read()/write(); got {type(stream).__name__}")


def _check_dir(path: str, *, create: bool) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if is_default_cache_path(path):
        ensure_private_dir(directory, create=create)
    elif create:
        os.makedirs(directory, exist_ok=True)


def _autosave(handle: RuntimeCacheHandleProtocol, persistence: _Persistence, path: str) -> None:
    try:
        persistence.save(handle, path)
    except Exception as exc:  # noqa: BLE001 - a finalizer must not raise; say what was lost instead
        warnings.warn(f"could not autosave runtime cache {path}: {exc}", RuntimeCacheWarning, stacklevel=1)
