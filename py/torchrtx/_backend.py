"""The one place that knows which TensorRT flavour is installed.

Every "is this TensorRT-RTX?" question in torchrtx is answered here. The runtime
backend can be substituted (tests put a double of the TensorRT-RTX runtime in its
place); the builder always comes from the real ``tensorrt_rtx`` package because
compiling needs the real parser and builder.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

__all__ = ["BackendInfo", "BackendUnavailableError", "backend", "backend_info", "builder_backend", "is_rtx",
           "use_backend"]

#: Module names probed in order: TensorRT-RTX first, standard TensorRT as a fallback.
_CANDIDATES = ("tensorrt_rtx", "tensorrt")
_RTX_MODULE = "tensorrt_rtx"


class BackendUnavailableError(ImportError):
    """Neither ``tensorrt_rtx`` nor ``tensorrt`` can be imported."""


@dataclass(frozen=True)
class BackendInfo:
    """Which backend torchrtx runs on.

    Attributes:
        name: The Python module name (``"tensorrt_rtx"`` or ``"tensorrt"``).
        version: The backend's ``__version__``.
        is_rtx: True when the backend is TensorRT-RTX.
    """

    name: str
    version: str
    is_rtx: bool


_lock = threading.Lock()
_detected: ModuleType | None = None
_override: ModuleType | None = None


def _import_first(names: tuple[str, ...]) -> ModuleType:
    errors = []
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise BackendUnavailableError(
        "torchrtx needs TensorRT-RTX: `pip install tensorrt-rtx` (tried " + "; ".join(errors) + ")"
    )


def backend() -> ModuleType:
    """Return the runtime backend module, detecting it once per process."""
    global _detected
    if _override is not None:
        return _override
    with _lock:
        if _detected is None:
            _detected = _import_first(_CANDIDATES)
        return _detected


def builder_backend() -> ModuleType:
    """Return the real ``tensorrt_rtx`` module for parsing and building engines."""
    return _import_first((_RTX_MODULE,))


def backend_info() -> BackendInfo:
    """Describe the runtime backend: its module name, version and whether it is TensorRT-RTX."""
    module = backend()
    name = module.__name__
    version = str(getattr(module, "__version__", "unknown"))
    return BackendInfo(name=name, version=version, is_rtx=name == _RTX_MODULE)


def is_rtx() -> bool:
    """True when the runtime backend is TensorRT-RTX."""
    return backend().__name__ == _RTX_MODULE


@contextmanager
def use_backend(module: ModuleType) -> Iterator[ModuleType]:
    """Run the enclosed block with ``module`` as the runtime backend.

    The module's ``__name__`` decides whether it counts as TensorRT-RTX. Meant for
    tests that substitute a double of the runtime API.
    """
    global _override
    previous = _override
    _override = module
    try:
        yield module
    finally:
        _override = previous
