"""TRTRuntimeConfig: the engine's IRuntimeConfig and every "is this TensorRT-RTX?" gate of the runtime.

On TensorRT-RTX the shim creates the engine's ``IRuntimeConfig`` once, sets the
runtime knobs on it and creates execution contexts from it. On standard TensorRT
(or an RTX build without a knob) a non-default setting warns and changes nothing.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

from torchrtx._backend import backend, is_rtx
from torchrtx.runtime.cache_dir import is_default_cache_path
from torchrtx.runtime.errors import EngineExecutionError
from torchrtx.runtime.settings import RuntimeSettings

__all__ = [
    "RuntimeKnobs",
    "TRTRuntimeConfig",
    "effective_knobs",
    "is_default_settings",
    "warn_if_unsupported",
]

_KERNEL_STRATEGY_MEMBERS = {"lazy": "LAZY", "eager": "EAGER", "none": "NONE"}
_CUDA_GRAPH_MEMBERS = {"disabled": "DISABLED", "whole_graph_capture": "WHOLE_GRAPH_CAPTURE"}
_DEFAULTS = RuntimeSettings(runtime_cache=None)


class RuntimeKnobs(NamedTuple):
    """The knobs that actually reach the backend (all None on standard TensorRT)."""

    kernel_strategy: str | None
    cuda_graph_strategy: str | None
    runtime_cache: Any


def effective_knobs(settings: RuntimeSettings) -> RuntimeKnobs:
    """What ``settings`` change on the current backend; equal knobs mean no new context is needed."""
    if not is_rtx():
        return RuntimeKnobs(None, None, None)
    return RuntimeKnobs(
        settings.dynamic_shapes_kernel_specialization_strategy,
        settings.cuda_graph_strategy,
        settings.runtime_cache,
    )


def is_default_settings(settings: RuntimeSettings) -> bool:
    """True for the out-of-the-box settings (a cache at the default path counts as default)."""
    cache = settings.runtime_cache
    cache_path = getattr(cache, "path", cache)
    default_cache = cache is None or (isinstance(cache_path, str) and bool(cache_path)
                                      and is_default_cache_path(cache_path))
    return (
        default_cache
        and settings.cuda_graph_strategy == _DEFAULTS.cuda_graph_strategy
        and settings.dynamic_shapes_kernel_specialization_strategy
        == _DEFAULTS.dynamic_shapes_kernel_specialization_strategy
    )


def warn_if_unsupported(settings: RuntimeSettings, stacklevel: int = 3) -> bool:
    """On standard TensorRT, warn once for non-default ``settings`` and return True (they will be ignored)."""
    if is_rtx() or is_default_settings(settings):
        return False
    warnings.warn(
        f"runtime settings need TensorRT-RTX, but the backend is {backend().__name__}; "
        f"{settings!r} is ignored and the engine runs with the backend's defaults",
        UserWarning,
        stacklevel=stacklevel,
    )
    return True


class TRTRuntimeConfig:
    """Owns one engine's ``IRuntimeConfig`` (created once) and creates execution contexts from it.

    Args:
        cuda_engine: The backend's deserialized ``ICudaEngine``.
    """

    def __init__(self, cuda_engine: Any) -> None:
        self._cuda_engine = cuda_engine
        self._runtime_config: Any = None

    @property
    def runtime_config(self) -> Any:
        """The backend ``IRuntimeConfig``, or None before the first context / on standard TensorRT."""
        return self._runtime_config

    def create_execution_context(self, settings: RuntimeSettings) -> Any:
        """Apply ``settings`` to the runtime config and create an ``IExecutionContext`` from it."""
        if not is_rtx():
            context = self._cuda_engine.create_execution_context()
        else:
            if self._runtime_config is None:
                self._runtime_config = self._cuda_engine.create_runtime_config()
            self._apply(self._runtime_config, settings)
            context = self._cuda_engine.create_execution_context(self._runtime_config)
        if context is None:
            raise EngineExecutionError(
                "the backend could not create an execution context (see its log above)"
            )
        return context

    def _apply(self, config: Any, settings: RuntimeSettings) -> None:
        trt = backend()
        _set_enum_knob(
            config,
            "dynamic_shapes_kernel_specialization_strategy",
            getattr(trt, "DynamicShapesKernelSpecializationStrategy", None),
            _KERNEL_STRATEGY_MEMBERS,
            settings.dynamic_shapes_kernel_specialization_strategy,
            _DEFAULTS.dynamic_shapes_kernel_specialization_strategy,
        )
        _set_enum_knob(
            config,
            "cuda_graph_strategy",
            getattr(trt, "CudaGraphStrategy", None),
            _CUDA_GRAPH_MEMBERS,
            settings.cuda_graph_strategy,
            _DEFAULTS.cuda_graph_strategy,
        )
        self._attach_cache(config, settings.runtime_cache)

    @staticmethod
    def _attach_cache(config: Any, cache: Any) -> None:
        # The engine admits only None or a RuntimeCache (it checks settings before storing them).
        backend_cache = cache.ensure_materialized(config) if cache is not None else None
        if backend_cache is None and config.get_runtime_cache() is None:
            return
        if not config.set_runtime_cache(backend_cache):
            raise EngineExecutionError(
                "the backend refused to attach the runtime cache to the runtime config"
            )


def _set_enum_knob(
    config: Any, attribute: str, enum_type: Any, members: dict[str, str], value: str, default: str
) -> None:
    if enum_type is None or not hasattr(config, attribute):
        if value != default:
            warnings.warn(
                f"{attribute}={value!r} is not supported by {backend().__name__} "
                f"{getattr(backend(), '__version__', '')}; the backend default is used",
                UserWarning,
                stacklevel=4,
            )
        return
    setattr(config, attribute, getattr(enum_type, members[value]))
