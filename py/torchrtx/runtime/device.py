"""Which device an engine runs on, and whether TensorRT-RTX can run there.

These checks run at the first call that needs the engine, so importing,
loading and describing a module work on any machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

import torch

from torchrtx._backend import is_rtx
from torchrtx.runtime.errors import EngineCapabilityMismatchError, NoCUDADeviceError, UnsupportedGPUError

__all__ = [
    "SUPPORTED_COMPUTE_CAPABILITIES",
    "backend_device_type",
    "capability_name",
    "check_device",
    "check_engine_targets",
    "resolve_device",
]

#: Compute capabilities TensorRT-RTX executes on; a major version alone (``(12, None)``) admits every minor.
SUPPORTED_COMPUTE_CAPABILITIES: tuple[tuple[int, int | None], ...] = ((8, 0), (8, 6), (8, 9), (12, None))

# TensorRT(-RTX) always executes on CUDA. A test double of the runtime API may declare
# another device type through this module attribute (it has no CUDA of its own).
_DEVICE_TYPE_ATTRIBUTE = "_torchrtx_execution_device"


def backend_device_type(backend: ModuleType) -> str:
    """The torch device type the runtime backend executes on: ``"cuda"`` unless a double says otherwise."""
    return getattr(backend, _DEVICE_TYPE_ATTRIBUTE, "cuda")


def capability_name(capability: tuple[int, int]) -> str:
    """``(8, 9)`` -> ``"sm89"``, the spelling ``compile(compute_capabilities=...)`` takes."""
    return f"sm{capability[0]}{capability[1]}"


def _supported_names() -> str:
    return ", ".join(
        f"{major}.x" if minor is None else f"{major}.{minor}"
        for major, minor in SUPPORTED_COMPUTE_CAPABILITIES
    )


def check_device(capability: tuple[int, int], device_name: str = "this GPU") -> None:
    """Raise :class:`UnsupportedGPUError` unless TensorRT-RTX supports ``capability`` (major, minor)."""
    major, minor = capability
    for ok_major, ok_minor in SUPPORTED_COMPUTE_CAPABILITIES:
        if major == ok_major and ok_minor in (None, minor):
            return
    raise UnsupportedGPUError(
        f"{device_name} has compute capability {major}.{minor}, which TensorRT-RTX does not support; "
        f"supported compute capabilities: {_supported_names()}. Run on a supported GPU."
    )


def check_engine_targets(capability: tuple[int, int], targets: Iterable[str]) -> None:
    """Raise :class:`EngineCapabilityMismatchError` if the engine's build targets exclude ``capability``.

    An engine with no recorded targets is not checked (the backend decides).
    """
    targets = tuple(targets)
    wanted = capability_name(capability)
    if not targets or wanted in targets:
        return
    raise EngineCapabilityMismatchError(
        f"this engine was built for compute capabilities {', '.join(targets)}, but the GPU is {wanted} "
        f"(compute capability {capability[0]}.{capability[1]}); recompile with "
        f"torchrtx.compile(..., compute_capabilities=[{wanted!r}])"
    )


def resolve_device(backend: ModuleType, targets: Iterable[str]) -> torch.device:
    """Pick the device the engine will run on and check it can: the current CUDA device for TensorRT-RTX.

    Raises:
        NoCUDADeviceError: the backend executes on CUDA and torch sees no CUDA device.
        UnsupportedGPUError: the backend is TensorRT-RTX and does not run on this GPU.
        EngineCapabilityMismatchError: the backend is TensorRT-RTX and the engine was not built for this GPU.
    """
    device_type = backend_device_type(backend)
    if device_type != "cuda":
        return torch.device(device_type)
    if not torch.cuda.is_available():
        raise NoCUDADeviceError(
            "TensorRT-RTX engines run on a CUDA GPU, but torch.cuda.is_available() is False: no CUDA device "
            "or driver is visible to this process. Run on a machine with a supported NVIDIA GPU "
            f"(compute capability {_supported_names()}) and a working driver."
        )
    device = torch.device("cuda", torch.cuda.current_device())
    capability = torch.cuda.get_device_capability(device)
    if is_rtx():
        # Standard TensorRT runs on GPUs TensorRT-RTX refuses (e.g. sm90), and its plans carry no target list.
        name = torch.cuda.get_device_name(device)
        check_device(capability, device_name=f"GPU {device.index} ({name})")
        check_engine_targets(capability, targets)
    return device
