"""An in-process double of the TensorRT-RTX *runtime* API (``tensorrt_rtx`` 1.7.1) for CPU-only tests.

``make_double()`` returns a module object named ``tensorrt_rtx`` (or ``tensorrt`` for the
standard-TensorRT flavour, which lacks runtime configs and their knobs) offering only
names the real bindings have (``tests/py/runtime/test_conformance.py`` checks that).
Plans come from :mod:`support.double_plans`; executing a context runs the plan's
reference torch function on tensors read from the addresses the engine bound, on
the stream handle it passed, and writes the outputs in place.

Test-only controls live on :class:`DoubleControl` (``control_of(module)``), never on
the API classes. Behaviour chosen where the real API cannot be observed here:

* A new ``IRuntimeConfig`` defaults to LAZY kernel specialization and DISABLED CUDA graphs.
* ``is_stream_capturable(stream)`` is False for the legacy default stream (handle 0, which
  CUDA cannot capture) and True otherwise, unless ``DoubleControl.stream_capturable`` forces it.
* A context whose runtime config held a cache when it was created adds one kernel per
  (plan, input shapes) it executes to that cache, unless its kernel strategy is NONE.
"""

from __future__ import annotations

import enum
import itertools
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch

from support.double_cache import IHostMemory, IRuntimeCache
from support.double_memory import tensor_at
from support.double_plans import PlanRecord, as_list, lookup_plan

__all__ = ["ContextRecord", "DoubleControl", "ExecutionRecord", "cache_kernels", "control_of", "make_double"]

DEFAULT_ENVIRONMENT = "trt-double/tensorrt_rtx-1.7.1/any-gpu"


class DynamicShapesKernelSpecializationStrategy(enum.Enum):
    """Real member names and values."""

    LAZY = 0
    EAGER = 1
    NONE = 2


class CudaGraphStrategy(enum.Enum):
    """Real member names and values."""

    DISABLED = 0
    WHOLE_GRAPH_CAPTURE = 1


class ILogger:
    """Base of loggers; subclasses override :meth:`log` (torchrtx forwards to Python logging)."""

    class Severity(enum.Enum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    INTERNAL_ERROR = Severity.INTERNAL_ERROR
    ERROR = Severity.ERROR
    WARNING = Severity.WARNING
    INFO = Severity.INFO
    VERBOSE = Severity.VERBOSE

    def log(self, severity: Severity, msg: str) -> None:
        raise NotImplementedError


class Logger(ILogger):
    """Collects messages at or above ``min_severity``."""

    def __init__(self, min_severity: ILogger.Severity = ILogger.Severity.WARNING) -> None:
        self._min_severity = min_severity
        self._messages: list[tuple[ILogger.Severity, str]] = []

    @property
    def min_severity(self) -> ILogger.Severity:
        return self._min_severity

    def log(self, severity: ILogger.Severity, msg: str) -> None:
        if severity.value <= self._min_severity.value:
            self._messages.append((severity, msg))


@dataclass(frozen=True)
class ContextRecord:
    """The knobs one execution context was created with (None: no runtime config, standard TensorRT)."""

    plan_id: str
    kernel_strategy: str | None
    cuda_graph_strategy: str | None
    runtime_cache: IRuntimeCache | None


@dataclass(frozen=True)
class ExecutionRecord:
    """One ``execute_async_v3`` call."""

    plan_id: str
    context_index: int
    stream_handle: int
    input_shapes: tuple[tuple[int, ...], ...]


@dataclass
class DoubleControl:
    """Test-side view and controls of one double: counters, records and behaviour switches.

    Attributes:
        device_type: Where the reference functions run ("cpu" in CI, "cuda" on a GPU).
        environment: Fingerprint written into cache blobs; blobs from another one are rejected.
        stream_capturable: Forces ``is_stream_capturable``'s answer; None keeps the documented rule.
    """

    device_type: str = "cpu"
    environment: str = DEFAULT_ENVIRONMENT
    stream_capturable: bool | None = None
    contexts: list[ContextRecord] = field(default_factory=list)
    executions: list[ExecutionRecord] = field(default_factory=list)
    deserialized: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def contexts_created(self) -> int:
        """Contexts created by every engine of this double."""
        return len(self.contexts)

    def contexts_of(self, plan_id: str) -> list[ContextRecord]:
        """Context records of one plan, in creation order."""
        return [record for record in self.contexts if record.plan_id == plan_id]

    def _add_context(self, record: ContextRecord) -> int:
        with self._lock:
            self.contexts.append(record)
            return len(self.contexts) - 1


class IRuntimeConfig:
    """Runtime knobs of contexts created from it, and the runtime cache they share."""

    def __init__(self, control: DoubleControl) -> None:
        self._control = control
        self._kernel_strategy = DynamicShapesKernelSpecializationStrategy.LAZY
        self._cuda_graph_strategy = CudaGraphStrategy.DISABLED
        self._cache: IRuntimeCache | None = None

    @property
    def dynamic_shapes_kernel_specialization_strategy(self) -> DynamicShapesKernelSpecializationStrategy:
        return self._kernel_strategy

    @dynamic_shapes_kernel_specialization_strategy.setter
    def dynamic_shapes_kernel_specialization_strategy(
        self, value: DynamicShapesKernelSpecializationStrategy
    ) -> None:
        self._kernel_strategy = _require(value, DynamicShapesKernelSpecializationStrategy)

    @property
    def cuda_graph_strategy(self) -> CudaGraphStrategy:
        return self._cuda_graph_strategy

    @cuda_graph_strategy.setter
    def cuda_graph_strategy(self, value: CudaGraphStrategy) -> None:
        self._cuda_graph_strategy = _require(value, CudaGraphStrategy)

    def create_runtime_cache(self) -> IRuntimeCache:
        return IRuntimeCache(self._control.environment)

    def set_runtime_cache(self, cache: IRuntimeCache | None = None) -> bool:
        self._cache = _require(cache, IRuntimeCache) if cache is not None else None
        return True

    def get_runtime_cache(self) -> IRuntimeCache | None:
        return self._cache


def _require(value: Any, kind: type) -> Any:
    # pybind rejects arguments of the wrong type with TypeError; so does the double.
    if not isinstance(value, kind):
        raise TypeError(f"incompatible argument: expected {kind.__name__}, got {type(value).__name__}")
    return value


class IExecutionContext:
    """Input shapes, tensor addresses and execution of one engine."""

    def __init__(
        self, engine: _EngineBase, index: int, cache: IRuntimeCache | None, specialize: bool
    ) -> None:
        self._engine = engine
        self._index = index
        self._cache = cache if specialize else None
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._addresses: dict[str, int] = {}
        spec = engine._record.spec
        self._inputs = {item.name: item for item in spec.inputs}
        self._outputs = {item.name: item for item in spec.outputs}

    @property
    def engine(self) -> _EngineBase:
        return self._engine

    def set_input_shape(self, name: str, shape: tuple) -> bool:
        item = self._inputs.get(name)
        shape = tuple(int(d) for d in shape)
        if item is None or len(shape) != len(item.min_shape):
            return False
        if not all(lo <= d <= hi for d, lo, hi in zip(shape, item.min_shape, item.max_shape, strict=True)):
            return False
        self._shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name in self._inputs:
            return self._shapes.get(name, tuple(-1 for _ in self._inputs[name].min_shape))
        if name not in self._outputs:
            return ()
        if len(self._shapes) < len(self._inputs):
            return tuple(self._outputs[name].shape)
        index = list(self._outputs).index(name)
        return self._output_shapes()[index]

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if name not in self._inputs and name not in self._outputs:
            return False
        self._addresses[name] = int(memory)
        return True

    def get_tensor_address(self, name: str) -> int:
        return self._addresses.get(name, 0)

    def is_stream_capturable(self, stream: int) -> bool:
        forced = self._engine._control.stream_capturable
        return forced if forced is not None else int(stream) != 0

    def execute_async_v3(self, stream_handle: int) -> bool:
        control = self._engine._control
        names = [*self._inputs, *self._outputs]
        if len(self._shapes) < len(self._inputs) or any(self._addresses.get(n, 0) == 0 for n in names):
            self._engine._logger.log(
                Logger.ERROR, "execute_async_v3: input shapes or tensor addresses not set"
            )
            return False
        device = torch.device(control.device_type)
        input_shapes = tuple(self._shapes[n] for n in self._inputs)
        inputs = [
            tensor_at(self._addresses[n], self._shapes[n], item.torch_dtype, device)
            for n, item in self._inputs.items()
        ]
        outputs = [
            tensor_at(self._addresses[n], shape, item.torch_dtype, device)
            for (n, item), shape in zip(self._outputs.items(), self._output_shapes(), strict=True)
        ]
        with _on_stream(device, stream_handle), torch.no_grad():
            results = as_list(self._engine._record.reference_fn(*inputs))
            if len(results) != len(outputs):
                raise RuntimeError(
                    f"reference returned {len(results)} outputs, the plan declares {len(outputs)}"
                )
            for out, result in zip(outputs, results, strict=True):
                out.copy_(result)
        plan_id = self._engine._record.plan_id
        if self._cache is not None:
            self._cache._record_kernel(f"{plan_id}:{input_shapes}")
        control.executions.append(ExecutionRecord(plan_id, self._index, int(stream_handle), input_shapes))
        return True

    def _output_shapes(self) -> tuple[tuple[int, ...], ...]:
        shapes = [self._shapes[n] for n in self._inputs]
        return self._engine._record.output_shapes(shapes, torch.device(self._engine._control.device_type))


def _on_stream(device: torch.device, handle: int) -> Any:
    if device.type != "cuda":
        return nullcontext()
    stream = torch.cuda.ExternalStream(handle) if handle else torch.cuda.default_stream(device)
    return torch.cuda.stream(stream)


class _EngineBase:
    def __init__(self, record: PlanRecord, control: DoubleControl, logger: Logger) -> None:
        self._record = record
        self._control = control
        self._logger = logger

    def _new_context(self, config: IRuntimeConfig | None) -> IExecutionContext:
        cache = config.get_runtime_cache() if config is not None else None
        record = ContextRecord(
            plan_id=self._record.plan_id,
            kernel_strategy=config.dynamic_shapes_kernel_specialization_strategy.name.lower()
            if config
            else None,
            cuda_graph_strategy=config.cuda_graph_strategy.name.lower() if config else None,
            runtime_cache=cache,
        )
        specialize = config is not None and (
            config.dynamic_shapes_kernel_specialization_strategy
            is not DynamicShapesKernelSpecializationStrategy.NONE
        )
        return IExecutionContext(self, self._control._add_context(record), cache, specialize)


class ICudaEngine(_EngineBase):
    """A deserialized TensorRT-RTX engine."""

    def create_runtime_config(self) -> IRuntimeConfig:
        return IRuntimeConfig(self._control)

    def create_execution_context(self, runtime_config: IRuntimeConfig | None = None) -> IExecutionContext:
        if runtime_config is not None:
            _require(runtime_config, IRuntimeConfig)
        return self._new_context(runtime_config)


class _StandardCudaEngine(_EngineBase):
    """A standard-TensorRT engine: no runtime config, so no runtime knobs."""

    def create_execution_context(self) -> IExecutionContext:
        return self._new_context(None)


class Runtime:
    """Deserializes registered plans; unknown bytes give None, as the real runtime does for a bad plan."""

    _control: DoubleControl
    _engine_type: type[_EngineBase]

    def __init__(self, logger: Logger) -> None:
        self._logger = logger

    def deserialize_cuda_engine(self, serialized_engine: bytes) -> _EngineBase | None:
        record = lookup_plan(serialized_engine)
        if record is None:
            self._logger.log(Logger.ERROR, "deserialize_cuda_engine: not a plan registered with the double")
            return None
        self._control.deserialized.append(record.plan_id)
        return self._engine_type(record, self._control, self._logger)


_serial = itertools.count()


def make_double(name: str = "tensorrt_rtx", device: str = "cpu") -> ModuleType:
    """A fresh double module named ``name`` ("tensorrt_rtx"/"tensorrt"), references run on ``device``."""
    if name not in ("tensorrt_rtx", "tensorrt"):
        raise ValueError(f"name must be 'tensorrt_rtx' or 'tensorrt', got {name!r}")
    control = DoubleControl(device_type=device)
    rtx = name == "tensorrt_rtx"
    module = ModuleType(name, f"TensorRT runtime double #{next(_serial)} ({name}, references on {device})")
    engine_type = ICudaEngine if rtx else _StandardCudaEngine
    module.__version__ = "1.7.1.116" if rtx else "10.13.0"
    module.ILogger = ILogger
    module.Logger = Logger
    module.Runtime = type("Runtime", (Runtime,), {"_control": control, "_engine_type": engine_type})
    module.ICudaEngine = engine_type
    module.IExecutionContext = IExecutionContext
    module.IHostMemory = IHostMemory
    if rtx:
        module.IRuntimeConfig = IRuntimeConfig
        module.IRuntimeCache = IRuntimeCache
        module.DynamicShapesKernelSpecializationStrategy = DynamicShapesKernelSpecializationStrategy
        module.CudaGraphStrategy = CudaGraphStrategy
    # Read by torchrtx.runtime.device.backend_device_type: the double has no CUDA of its own.
    module._torchrtx_execution_device = device
    module._double_control = control
    return module


def control_of(module: ModuleType) -> DoubleControl:
    """The test controls of a module made by :func:`make_double`."""
    return module._double_control


def cache_kernels(cache: IRuntimeCache) -> frozenset[str]:
    """The kernel entries a double runtime cache holds."""
    with cache._lock:
        return frozenset(cache._kernels)


def admit_current_gpu() -> tuple[int, int]:
    """Count the current GPU as TensorRT-RTX-supported and return its capability.

    The double runs on any CUDA GPU, including ones TensorRT-RTX refuses (H100 is sm90), so
    benchmarks on such a GPU widen the supported list; tests use the ``cuda_double_backend``
    fixture, which does the same through monkeypatch and undoes it afterwards.
    """
    from torchrtx.runtime import device as device_module

    capability = torch.cuda.get_device_capability()
    supported = device_module.SUPPORTED_COMPUTE_CAPABILITIES
    if capability not in supported:
        device_module.SUPPORTED_COMPUTE_CAPABILITIES = (*supported, capability)
    return capability
