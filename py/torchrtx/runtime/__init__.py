"""Change how compiled engines run, after compile and without rebuilding."""

from torchrtx.runtime.cache import RuntimeCache, RuntimeCacheWarning
from torchrtx.runtime.context_managers import (
    runtime_cache,
    runtime_config,
    set_dynamic_shapes_kernel_strategy,
)
from torchrtx.runtime.cudagraphs import CUDAGraphWrapper, enable_cudagraphs
from torchrtx.runtime.module import TRTModule
from torchrtx.runtime.settings import RuntimeSettings

__all__ = [
    "CUDAGraphWrapper",
    "RuntimeCache",
    "RuntimeCacheWarning",
    "RuntimeSettings",
    "TRTModule",
    "enable_cudagraphs",
    "runtime_cache",
    "runtime_config",
    "set_dynamic_shapes_kernel_strategy",
]
