"""torchrtx: compile PyTorch models to TensorRT-RTX engines and tune how they run."""

from torchrtx._backend import BackendInfo, backend_info
from torchrtx.runtime.module import TRTModule

__version__ = "0.1.0"

__all__ = ["BackendInfo", "TRTModule", "__version__", "backend_info"]
