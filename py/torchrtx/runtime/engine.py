"""PythonTRTEngine: runs one serialized TensorRT-RTX engine from Python.

The plan is deserialized on first need, the ``IExecutionContext`` is created lazily
on the first execute from the engine's runtime config, and runtime settings can be
changed at any time: a change that reaches the backend drops the context so the
next call creates one with the new knobs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch

from torchrtx._backend import backend
from torchrtx._spec import EngineSpec
from torchrtx._trt_logger import trt_logger
from torchrtx.runtime.config_shim import TRTRuntimeConfig, effective_knobs, warn_if_unsupported
from torchrtx.runtime.device import resolve_device
from torchrtx.runtime.errors import EngineDeserializationError, EngineExecutionError
from torchrtx.runtime.io_binding import InputChecker, OutputAllocator
from torchrtx.runtime.settings import RuntimeSettings

__all__ = ["PythonTRTEngine"]

logger = logging.getLogger("torchrtx.runtime.engine")

# Output shapes are remembered per input-shape combination; a bound keeps many dynamic shapes from piling up.
_MAX_REMEMBERED_SHAPES = 64


class PythonTRTEngine:
    """One deserialized engine, its runtime config and its lazily created execution context.

    Args:
        serialized_engine: The plan bytes from the TensorRT-RTX builder.
        spec: The engine's I/O names, dtypes, profile ranges and build targets.
        runtime_settings: Initial settings; ``runtime_cache`` must be None or a ``RuntimeCache``.
            Defaults to the standard knobs with no runtime cache.

    All state changes and every :meth:`execute` hold one re-entrant lock, so settings
    changed from another thread never mix into a running call.
    """

    def __init__(
        self, serialized_engine: bytes, spec: EngineSpec, runtime_settings: RuntimeSettings | None = None
    ) -> None:
        self._plan = bytes(serialized_engine)
        self._spec = spec
        if runtime_settings is None:
            runtime_settings = RuntimeSettings(runtime_cache=None)
        else:
            _check_settings(runtime_settings)
            warn_if_unsupported(runtime_settings)
        self._settings = runtime_settings
        self._lock = threading.RLock()
        self._inputs = InputChecker(spec.inputs)
        self._outputs = OutputAllocator(spec.outputs)
        self._binding_names = self._inputs.names + self._outputs.names
        self._device: torch.device | None = None
        # The CUDA device index as an int: torch.cuda.current_stream(int) skips parsing a torch.device.
        self._cuda_index: int | None = None
        self._backend_runtime: Any = None
        self._cuda_engine: Any = None
        self._config_shim: TRTRuntimeConfig | None = None
        self._context: Any = None
        self._contexts_created = 0
        self._native_capture_suppressed = False
        self._bound_shapes: tuple[torch.Size, ...] | None = None
        self._output_shapes: dict[tuple[torch.Size, ...], list[tuple[int, ...]]] = {}

    @property
    def spec(self) -> EngineSpec:
        """The engine's I/O description and build targets."""
        return self._spec

    @property
    def device(self) -> torch.device | None:
        """The device the engine runs on; None until the first call that needs the engine."""
        return self._device

    @property
    def runtime_settings(self) -> RuntimeSettings:
        """The settings in force (as last given to :meth:`update_runtime_settings`)."""
        return self._settings

    @property
    def contexts_created(self) -> int:
        """How many execution contexts this engine has created."""
        return self._contexts_created

    @property
    def native_capture_suppressed(self) -> bool:
        """True after an outer CUDA-graph capture made this engine turn TensorRT-RTX's own capture off."""
        return self._native_capture_suppressed

    @property
    def cuda_engine(self) -> Any:
        """The backend ``ICudaEngine``, deserialized on first access."""
        with self._lock:
            return self._ensure_engine()

    @property
    def runtime_config_shim(self) -> TRTRuntimeConfig:
        """The shim that owns this engine's ``IRuntimeConfig``."""
        with self._lock:
            self._ensure_engine()
            assert self._config_shim is not None
            return self._config_shim

    @property
    def context(self) -> Any:
        """The ``IExecutionContext``, created on first access with the settings in force."""
        with self._lock:
            if self._context is None:
                self._create_context()
            return self._context

    def has_context(self) -> bool:
        """Whether an execution context exists, without creating one."""
        return self._context is not None

    def invalidate_context(self) -> None:
        """Drop the execution context; the next call that needs one creates a new one."""
        with self._lock:
            self._context = None
            self._bound_shapes = None
            self._output_shapes.clear()

    def update_runtime_settings(self, settings: RuntimeSettings) -> None:
        """Switch to ``settings``; the context is dropped only if a knob that reaches the backend changed."""
        _check_settings(settings)
        with self._lock:
            if settings == self._settings:
                return
            knobs_before = effective_knobs(self._effective_settings())
            warn_if_unsupported(settings)
            self._settings = settings
            self._native_capture_suppressed = False
            if self._context is not None and effective_knobs(self._effective_settings()) != knobs_before:
                logger.debug("runtime settings changed; execution context dropped")
                self.invalidate_context()

    def uses_lazy_kernels(self) -> bool:
        """Whether TensorRT-RTX lazy kernel specialization is in force for this engine.

        Lazy specialization swaps kernels in after a call, which a captured graph would never see.
        """
        return effective_knobs(self._settings).kernel_strategy == "lazy"

    def is_capturable(self, stream: torch.cuda.Stream) -> bool:
        """Whether a torch CUDA graph may capture this engine on ``stream`` (never with lazy kernels)."""
        with self._lock:
            if self.uses_lazy_kernels():
                return False
            return bool(self.context.is_stream_capturable(stream.cuda_stream))

    def execute(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Run the engine on ``inputs`` (binding order) and return its outputs (binding order)."""
        with self._lock:
            device = self._device if self._device is not None else self._resolve_device()
            tensors = self._inputs.check(inputs, device)
            with current_cuda_device(self._cuda_index):
                return self._enqueue(device, tensors)

    def _enqueue(self, device: torch.device, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        if self._settings.cuda_graph_strategy == "whole_graph_capture":
            self._yield_to_outer_capture(device)
        context = self._context
        if context is None:
            context = self._create_context()
        outputs = self._outputs.allocate(self._bind_shapes(context, tensors), device)
        self._bind_addresses(context, tensors, outputs)
        # Looked up on every call: users switch streams between calls.
        cuda_index = self._cuda_index
        stream = torch.cuda.current_stream(cuda_index).cuda_stream if cuda_index is not None else 0
        if not context.execute_async_v3(stream):
            raise EngineExecutionError("the backend failed to enqueue the engine (see its log above)")
        return outputs

    def _resolve_device(self) -> torch.device:
        device = resolve_device(backend(), self._spec.compute_capabilities)
        self._cuda_index = device.index if device.type == "cuda" else None
        self._device = device
        return device

    def _ensure_engine(self) -> Any:
        if self._cuda_engine is not None:
            return self._cuda_engine
        if self._device is None:
            self._resolve_device()
        trt = backend()
        runtime = trt.Runtime(trt_logger(trt))
        with current_cuda_device(self._cuda_index):
            cuda_engine = runtime.deserialize_cuda_engine(self._plan)
        if cuda_engine is None:
            raise EngineDeserializationError(
                f"{trt.__name__} could not deserialize this engine (built with TensorRT-RTX "
                f"{self._spec.trt_version}); recompile it with the installed version"
            )
        # The runtime must outlive the engines it deserialized.
        self._backend_runtime = runtime
        self._cuda_engine = cuda_engine
        self._config_shim = TRTRuntimeConfig(cuda_engine)
        return cuda_engine

    def _create_context(self) -> Any:
        self._ensure_engine()
        assert self._config_shim is not None
        self._context = self._config_shim.create_execution_context(self._effective_settings())
        self._contexts_created += 1
        logger.debug("execution context #%d created", self._contexts_created)
        return self._context

    def _effective_settings(self) -> RuntimeSettings:
        if self._native_capture_suppressed:
            return self._settings.replace(cuda_graph_strategy="disabled")
        return self._settings

    def _yield_to_outer_capture(self, device: torch.device) -> None:
        # TensorRT-RTX's own capture cannot run inside a torch capture on the same stream.
        if self._native_capture_suppressed or not _outer_capture_in_progress(device):
            return
        logger.info(
            "outer CUDA graph capture in progress; turning TensorRT-RTX whole-graph capture off for this "
            "engine (one new execution context)"
        )
        self._native_capture_suppressed = True
        self.invalidate_context()

    def _bind_shapes(self, context: Any, tensors: list[torch.Tensor]) -> list[tuple[int, ...]]:
        # The context keeps input shapes between calls, so they are set only when they change.
        shapes = tuple([tensor.shape for tensor in tensors])
        if shapes != self._bound_shapes:
            for name, shape in zip(self._inputs.names, shapes, strict=True):
                if not context.set_input_shape(name, tuple(shape)):
                    raise EngineExecutionError(
                        f"the backend rejected shape {tuple(shape)} for input {name!r}"
                    )
            self._bound_shapes = shapes
        output_shapes = self._output_shapes.get(shapes)
        if output_shapes is None:
            output_shapes = [tuple(context.get_tensor_shape(name)) for name in self._outputs.names]
            for name, shape in zip(self._outputs.names, output_shapes, strict=True):
                if any(size < 0 for size in shape):
                    raise EngineExecutionError(
                        f"the backend could not infer the shape of output {name!r}: {shape}"
                    )
            if len(self._output_shapes) >= _MAX_REMEMBERED_SHAPES:
                self._output_shapes.clear()
            self._output_shapes[shapes] = output_shapes
        return output_shapes

    def _bind_addresses(
        self, context: Any, inputs: list[torch.Tensor], outputs: list[torch.Tensor]
    ) -> None:
        for name, tensor in zip(self._binding_names, (*inputs, *outputs), strict=True):
            if not context.set_tensor_address(name, tensor.data_ptr()):
                raise EngineExecutionError(f"the backend rejected the address of tensor {name!r}")


def _check_settings(settings: RuntimeSettings) -> None:
    if not isinstance(settings, RuntimeSettings):
        raise TypeError(f"expected RuntimeSettings, got {type(settings).__name__}")
    cache = settings.runtime_cache
    if cache is not None and not hasattr(cache, "ensure_materialized"):
        raise TypeError(
            f"the engine takes runtime_cache=None or a RuntimeCache, got {cache!r}; TRTModule resolves paths"
        )


def _outer_capture_in_progress(device: torch.device) -> bool:
    """Whether torch is capturing a CUDA graph on the current stream (never, off CUDA)."""
    return device.type == "cuda" and torch.cuda.is_current_stream_capturing()


def current_cuda_device(index: int | None) -> Any:
    """Make CUDA device ``index`` current for a block, when it is not already (None: not on CUDA).

    Contexts are created and work is enqueued on the engine's own device, whichever device the
    caller has current; switching only when needed keeps the single-GPU path cheap.
    """
    if index is None or torch.cuda.current_device() == index:
        return nullcontext()
    return torch.cuda.device(index)
