"""Change how compiled engines run, after compile and without rebuilding."""

from torchrtx.runtime.module import TRTModule
from torchrtx.runtime.settings import RuntimeSettings

__all__ = ["RuntimeSettings", "TRTModule"]
