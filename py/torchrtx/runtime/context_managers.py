"""Context managers that change how compiled engines run for the duration of a block.

Each one finds the :class:`~torchrtx.runtime.TRTModule`\\ s under its target, checks every
argument before touching any of them, applies new settings, and on exit (normal or by
exception) gives every module back exactly the settings it had, in reverse order.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import torch

from torchrtx.runtime.cache import RuntimeCache, RuntimeCacheWarning, check_binary_stream
from torchrtx.runtime.module import TRTModule
from torchrtx.runtime.settings import RuntimeSettings

__all__ = ["runtime_cache", "runtime_config", "set_dynamic_shapes_kernel_strategy"]

Target = torch.nn.Module | Sequence[torch.nn.Module]


@contextmanager
def runtime_config(target: Target, **overrides: Any) -> Iterator[Any]:
    """Override :class:`RuntimeSettings` fields on every engine under ``target`` for a block.

    Args:
        target: A TRTModule, a module containing TRTModules, or a list/tuple of those.
        **overrides: :class:`RuntimeSettings` fields, e.g.
            ``dynamic_shapes_kernel_specialization_strategy="eager"`` or ``runtime_cache="jit.bin"``
            (a path gives each engine its own cache on that file).

    Yields:
        ``target`` (a tuple when a list/tuple was given).

    Raises TypeError for an unknown field and ValueError for a bad value before any engine
    changes. On exit every engine gets back its previous settings object.

    Example::

        with runtime_config(model, dynamic_shapes_kernel_specialization_strategy="eager") as m:
            out = m(x)
    """
    modules = trt_modules(target, "runtime_config")
    planned = [(module, module.runtime_settings.replace(**overrides)) for module in modules]
    with _applied(planned):
        yield _as_yielded(target)


def set_dynamic_shapes_kernel_strategy(target: Target, strategy: str) -> Any:
    """Context manager setting ``dynamic_shapes_kernel_specialization_strategy`` under ``target``.

    ``strategy`` is ``"lazy"``, ``"eager"`` or ``"none"``; the same as
    ``runtime_config(target, dynamic_shapes_kernel_specialization_strategy=strategy)``.
    """
    return runtime_config(target, dynamic_shapes_kernel_specialization_strategy=strategy)


@contextmanager
def runtime_cache(target: Target, source: str | os.PathLike[str] | IO[bytes]) -> Iterator[RuntimeCache]:
    """Attach one shared :class:`RuntimeCache` to every engine under ``target`` for a block.

    Args:
        target: A TRTModule, a module containing TRTModules, or a list/tuple of those.
        source: A cache file path, or a binary file object (``io.BytesIO``, a file opened
            ``"r+b"``) that is read once on enter and written once on exit.

    Yields:
        The shared cache (``rc.path == ""`` in stream mode).

    On enter the cache is loaded (a missing file is an empty cache; an unreadable or rejected
    one gives a warning and an empty cache). On exit it is saved, then each engine's previous
    settings are restored. Nested blocks on the same real path share one cache.
    """
    modules = trt_modules(target, "runtime_cache")
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not path:
            raise ValueError("runtime_cache needs a non-empty path or a binary file object")
        cache = _SHARED.acquire(path)
        save, release, where = (lambda: cache.save(path)), (lambda: _SHARED.release(path)), path
    else:
        cache, save = _open_stream(source)
        release, where = (lambda: None), "the stream"
    try:
        planned = [(module, module.runtime_settings.replace(runtime_cache=cache)) for module in modules]
        with _applied(planned):
            try:
                yield cache
            finally:
                _save_on_exit(save, where)
    finally:
        release()


def trt_modules(target: object, caller: str) -> list[TRTModule]:
    """Every distinct TRTModule under ``target`` (a module or a list/tuple of modules), in order."""
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    if not items:
        raise ValueError(f"{caller} needs at least one target module; got an empty {type(target).__name__}")
    found: dict[int, TRTModule] = {}
    for item in items:
        if not isinstance(item, torch.nn.Module):
            raise TypeError(f"{caller} targets must be TRTModules or modules containing them; "
                            f"got {type(item).__name__}")
        inside = [sub for _, sub in item.named_modules() if isinstance(sub, TRTModule)]
        if not inside:
            raise ValueError(f"{type(item).__name__} holds no TRTModule; {caller} needs compiled engines")
        for module in inside:
            found.setdefault(id(module), module)
    return list(found.values())


def _as_yielded(target: Target) -> Any:
    return tuple(target) if isinstance(target, (list, tuple)) else target


@contextmanager
def _applied(planned: list[tuple[TRTModule, RuntimeSettings]]) -> Iterator[None]:
    """Apply each module's new settings; on exit put back the previous ones, last applied first."""
    applied: list[tuple[TRTModule, RuntimeSettings]] = []
    try:
        for module, settings in planned:
            previous = module.runtime_settings
            module.runtime_settings = settings
            applied.append((module, previous))
        yield
    finally:
        _restore(applied)


def _restore(applied: list[tuple[TRTModule, RuntimeSettings]]) -> None:
    # Every module is restored even if one restore fails; the first failure is raised afterwards.
    failure: BaseException | None = None
    for module, previous in reversed(applied):
        try:
            module.runtime_settings = previous
        except BaseException as exc:  # noqa: BLE001 - keep restoring the others
            failure = failure or exc
    if failure is not None:
        raise failure


class _SharedCaches:
    """Caches opened by active ``runtime_cache`` blocks, by real path, with a reference count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[RuntimeCache, int]] = {}

    def acquire(self, path: str) -> RuntimeCache:
        key = os.path.realpath(path)
        with self._lock:
            cache, count = self._entries.get(key, (None, 0))
            if cache is None:
                cache = RuntimeCache(path)
                cache.load()
            self._entries[key] = (cache, count + 1)
            return cache

    def release(self, path: str) -> None:
        key = os.path.realpath(path)
        with self._lock:
            cache, count = self._entries[key]
            if count == 1:
                del self._entries[key]
            else:
                self._entries[key] = (cache, count - 1)


_SHARED = _SharedCaches()


def _open_stream(stream: IO[bytes]) -> tuple[RuntimeCache, Callable[[], None]]:
    """A cache filled from ``stream`` now, and the function that writes it back once on exit."""
    check_binary_stream(stream)
    cache = RuntimeCache()
    start = stream.tell() if _can(stream, "seekable") else None
    if _can(stream, "readable"):
        cache.load_from_stream(stream)
    if not _can(stream, "writable"):
        return cache, lambda: None
    return cache, lambda: _rewrite_stream(cache, stream, start)


def _rewrite_stream(cache: RuntimeCache, stream: IO[bytes], start: int | None) -> None:
    # Replace what was read on enter rather than appending after it.
    if start is not None:
        stream.seek(start)
        stream.truncate()
    cache.save_to_stream(stream)


def _save_on_exit(save: Callable[[], object], where: str) -> None:
    # A failed save must neither hide an exception from the block nor lose the previous file
    # (the write is atomic), so it becomes a warning.
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    try:
        save()
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"could not save the runtime cache to {where}: {exc}", RuntimeCacheWarning,
                      stacklevel=4)


def _can(stream: object, ability: str) -> bool:
    probe = getattr(stream, ability, None)
    try:
        return bool(probe()) if callable(probe) else ability != "seekable"
    except (OSError, ValueError):
        return False
