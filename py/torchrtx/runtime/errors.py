"""Exceptions a user meets when a compiled engine cannot run here.

Each one is raised at the first call that needs the engine (never at import or
load) and says what to do about it.
"""

from __future__ import annotations

__all__ = [
    "EngineCapabilityMismatchError",
    "EngineDeserializationError",
    "EngineExecutionError",
    "NoCUDADeviceError",
    "UnsupportedGPUError",
]


class NoCUDADeviceError(RuntimeError):
    """TensorRT-RTX needs a CUDA GPU and this process sees none."""


class UnsupportedGPUError(RuntimeError):
    """The GPU's compute capability is not one TensorRT-RTX runs on."""


class EngineCapabilityMismatchError(RuntimeError):
    """The engine was built for other compute capabilities than this GPU's."""


class EngineDeserializationError(RuntimeError):
    """The backend could not deserialize the engine plan."""


class EngineExecutionError(RuntimeError):
    """The backend rejected a call while binding or enqueueing the engine."""
