"""torchrtx: compile PyTorch models to TensorRT-RTX engines and tune how they run."""

from torchrtx._backend import BackendInfo, backend_info
from torchrtx.compiler import CompileError, Input, compile
from torchrtx.runtime.errors import (
    EngineCapabilityMismatchError,
    EngineDeserializationError,
    EngineExecutionError,
    NoCUDADeviceError,
    UnsupportedGPUError,
)
from torchrtx.runtime.module import TRTModule
from torchrtx.serialization import ModuleFormatError, load, save

__version__ = "0.1.0"

__all__ = [
    "BackendInfo",
    "CompileError",
    "EngineCapabilityMismatchError",
    "EngineDeserializationError",
    "EngineExecutionError",
    "Input",
    "ModuleFormatError",
    "NoCUDADeviceError",
    "TRTModule",
    "UnsupportedGPUError",
    "__version__",
    "backend_info",
    "compile",
    "load",
    "save",
]
