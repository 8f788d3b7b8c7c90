"""enable_cudagraphs: replay the whole forward of compiled engines as a captured CUDA graph.

The wrapper captures one :class:`torch.cuda.CUDAGraph` per set of input shapes, with static
input and output buffers, and replays it on later calls: one graph launch instead of the Python
and kernel-launch work of every engine. It captures only when every engine under the target can
be captured; otherwise it runs the target eagerly and logs why, once per reason.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from torchrtx import _backend
from torchrtx.runtime.context_managers import runtime_config, trt_modules
from torchrtx.runtime.module import TRTModule
from torchrtx.runtime.settings import CUDA_GRAPH_STRATEGIES

if TYPE_CHECKING:
    from torchrtx.runtime.engine import PythonTRTEngine

__all__ = ["DEFAULT_MAX_GRAPHS", "CUDAGraphWrapper", "enable_cudagraphs"]

logger = logging.getLogger("torchrtx.runtime.cudagraphs")

#: How many input-shape sets a wrapper keeps captured graphs for before it evicts the least recently used.
DEFAULT_MAX_GRAPHS = 8

# Runs before each capture: first calls do one-time work (allocator growth, library handles,
# kernel selection) that must not end up inside the graph.
_WARMUP_CALLS = 2

# torch allows one capture at a time per process; wrappers used from several threads take turns.
_CAPTURE_LOCK = threading.Lock()

ShapeKey = tuple[tuple[tuple[int, ...], torch.dtype, torch.device], ...]


@dataclass
class _CapturedGraph:
    graph: torch.cuda.CUDAGraph
    device: torch.device
    static_inputs: tuple[torch.Tensor, ...]
    static_outputs: Any
    # (contexts_created, has_context) per engine right after capture: a change means the graph
    # points at an execution context that no longer exists.
    engine_state: tuple[tuple[int, bool], ...]
    # Recorded once a replay's outputs are cloned; the next replay, on whichever stream, waits for
    # it before overwriting the static inputs the previous one may still be reading.
    done: torch.cuda.Event = field(default_factory=torch.cuda.Event)


class CUDAGraphWrapper:
    """Calls ``module`` through captured CUDA graphs, one per set of input shapes and dtypes.

    Made by :func:`enable_cudagraphs`; valid only inside its ``with`` block.

    Each call copies the inputs into the graph's static input buffers, replays the graph and
    returns *clones* of the static outputs, so a returned tensor is never overwritten by a later
    call. A new set of input shapes warms the module up on a side stream and captures a new
    graph; at most ``max_graphs`` graphs are kept (least recently used evicted first).

    The module runs eagerly, and the reason is logged once, when the inputs are not all on one
    CUDA device, when an engine's kernel strategy is ``"lazy"`` (a graph would freeze its
    fallback kernels), or when an engine reports the capture stream is not capturable.
    """

    def __init__(self, module: torch.nn.Module, *, max_graphs: int = DEFAULT_MAX_GRAPHS) -> None:
        self._module = module
        self._named_engines: tuple[tuple[str, PythonTRTEngine], ...] = tuple(
            (name or type(module).__name__, sub.engine) for name, sub in _named_trt_modules(module)
        )
        self._max_graphs = max_graphs
        self._graphs: OrderedDict[ShapeKey, _CapturedGraph] = OrderedDict()
        self._capture_streams: dict[torch.device, torch.cuda.Stream] = {}
        self._logged_reasons: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._num_captures = 0
        self._eager_reason: str | None = None

    @property
    def module(self) -> torch.nn.Module:
        """The wrapped module."""
        return self._module

    @property
    def max_graphs(self) -> int:
        """How many captured graphs (input-shape sets) are kept at most."""
        return self._max_graphs

    @property
    def num_graphs(self) -> int:
        """How many captured graphs are held now."""
        return len(self._graphs)

    @property
    def num_captures(self) -> int:
        """How many graphs this wrapper has captured, evicted ones included."""
        return self._num_captures

    @property
    def eager_reason(self) -> str | None:
        """Why the latest call ran eagerly, or None when it replayed a graph."""
        return self._eager_reason

    @property
    def closed(self) -> bool:
        """True once the ``with`` block that made this wrapper has exited."""
        return self._closed

    def __call__(self, *inputs: torch.Tensor) -> Any:
        """Run the module on ``inputs``: replay a captured graph when possible, else eagerly."""
        self._check_open()
        _check_tensors(inputs)
        key = _shape_key(inputs)
        with self._lock:
            self._check_open()
            entry = self._lookup(key)
            reason = None
            if entry is None:
                reason = self._why_not_capturable(inputs)
                if reason is None:
                    entry = self._capture(key, inputs)
            if entry is not None:
                self._eager_reason = None
                return _replay(entry, inputs)
        self._note_eager(reason)
        return self._module(*inputs)

    def close(self) -> None:
        """Free every captured graph; later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            self._release(list(self._graphs.values()))
            self._graphs.clear()
            self._capture_streams.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "this enable_cudagraphs wrapper was called after its `with` block exited; its graphs are "
                "freed and the engines' settings restored. Call the module directly, or enter "
                "enable_cudagraphs again."
            )

    def _engine_state(self) -> tuple[tuple[int, bool], ...]:
        return tuple((engine.contexts_created, engine.has_context()) for _, engine in self._named_engines)

    def _lookup(self, key: ShapeKey) -> _CapturedGraph | None:
        entry = self._graphs.get(key)
        if entry is None:
            return None
        if entry.engine_state != self._engine_state():
            self._log_once(
                "an engine's execution context changed since capture (settings changed inside "
                "enable_cudagraphs); dropping the captured graphs and capturing again"
            )
            self._release(list(self._graphs.values()))
            self._graphs.clear()
            return None
        self._graphs.move_to_end(key)
        return entry

    def _why_not_capturable(self, inputs: tuple[torch.Tensor, ...]) -> str | None:
        lazy = [name for name, engine in self._named_engines if engine.uses_lazy_kernels()]
        if lazy:
            return (
                f"dynamic_shapes_kernel_specialization_strategy is 'lazy' for {', '.join(lazy)}: "
                "a captured graph would freeze its fallback kernels. Apply 'eager' or 'none' with an "
                "outer runtime_config(...) to capture."
            )
        if not inputs:
            return "the call has no tensor inputs to place on a CUDA device"
        devices = {t.device for t in inputs}
        if any(device.type != "cuda" for device in devices):
            return "inputs are not CUDA tensors (graphs capture CUDA work only)"
        if len(devices) > 1:
            return "inputs are on several CUDA devices; a graph captures work on one device"
        device = inputs[0].device
        stream = self._capture_stream(device)
        with torch.cuda.device(device):
            blocked = [name for name, engine in self._named_engines if not engine.is_capturable(stream)]
        if blocked:
            return (
                f"{', '.join(blocked)} cannot be captured on a side stream "
                "(the execution context reports the stream as not capturable)"
            )
        return None

    def _capture_stream(self, device: torch.device) -> torch.cuda.Stream:
        stream = self._capture_streams.get(device)
        if stream is None:
            stream = torch.cuda.Stream(device=device)
            self._capture_streams[device] = stream
        return stream

    def _capture(self, key: ShapeKey, inputs: tuple[torch.Tensor, ...]) -> _CapturedGraph:
        device = inputs[0].device
        with _CAPTURE_LOCK, torch.cuda.device(device), torch.no_grad():
            static_inputs = tuple(t.detach().clone() for t in inputs)
            graph, static_outputs, warmed_state = self._warm_up_and_capture(device, static_inputs)
            if self._engine_state() != warmed_state:
                # An engine made a new context during capture (native capture yielding to ours), so
                # the graph holds that context's first, cold run; warm the new context up and redo it.
                logger.info("an engine recreated its context during capture; capturing again on the new one")
                graph.reset()
                graph, static_outputs, _ = self._warm_up_and_capture(device, static_inputs)
        entry = _CapturedGraph(graph, device, static_inputs, static_outputs, self._engine_state())
        self._graphs[key] = entry
        self._num_captures += 1
        logger.info("captured a CUDA graph for input shapes %s (%d held)", [k[0] for k in key],
                    len(self._graphs))
        while len(self._graphs) > self._max_graphs:
            _, evicted = self._graphs.popitem(last=False)
            self._release([evicted])
        return entry

    def _warm_up_and_capture(
        self, device: torch.device, static_inputs: tuple[torch.Tensor, ...]
    ) -> tuple[torch.cuda.CUDAGraph, Any, tuple[tuple[int, bool], ...]]:
        stream = self._capture_stream(device)
        caller_stream = torch.cuda.current_stream(device)
        stream.wait_stream(caller_stream)
        with torch.cuda.stream(stream):
            for _ in range(_WARMUP_CALLS):
                self._module(*static_inputs)
        caller_stream.wait_stream(stream)
        warmed_state = self._engine_state()
        graph = torch.cuda.CUDAGraph()
        # thread_local: an eager call in another thread must not fail because this one captures.
        with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
            static_outputs = self._module(*static_inputs)
        return graph, static_outputs, warmed_state

    def _release(self, entries: list[_CapturedGraph]) -> None:
        for device in {entry.device for entry in entries}:
            torch.cuda.synchronize(device)
        for entry in entries:
            entry.graph.reset()

    def _note_eager(self, reason: str | None) -> None:
        self._eager_reason = reason
        if reason is not None:
            self._log_once(f"running eagerly: {reason}")

    def _log_once(self, message: str) -> None:
        if message not in self._logged_reasons:
            self._logged_reasons.add(message)
            logger.warning(message)


@contextmanager
def enable_cudagraphs(
    target: torch.nn.Module | list[torch.nn.Module] | tuple[torch.nn.Module, ...],
    *,
    cuda_graph_strategy: str | None = None,
    max_graphs: int = DEFAULT_MAX_GRAPHS,
) -> Iterator[CUDAGraphWrapper | tuple[CUDAGraphWrapper, ...]]:
    """Run ``target`` through captured CUDA graphs for the duration of the block.

    Args:
        target: A :class:`~torchrtx.TRTModule`, a module containing TRTModules, or a list/tuple
            of those. A list or tuple yields a tuple of wrappers, one per element, in order.
        cuda_graph_strategy: TensorRT-RTX's own capture (``"disabled"`` or
            ``"whole_graph_capture"``), applied to every engine before the wrapper's first call
            creates contexts, and restored on exit. None leaves the engines' settings alone.
            RuntimeError on standard TensorRT.
        max_graphs: How many input-shape sets keep a captured graph (least recently used evicted).

    Yields:
        A :class:`CUDAGraphWrapper` (or a tuple of them) to call instead of the module.

    On exit, normal or by exception, the graphs are freed and every engine's previous settings
    are restored; calling a wrapper afterwards raises RuntimeError.
    """
    targets = _targets(target)
    if not isinstance(max_graphs, int) or isinstance(max_graphs, bool) or max_graphs < 1:
        raise ValueError(f"max_graphs must be a positive int; got {max_graphs!r}")
    if cuda_graph_strategy is not None:
        if cuda_graph_strategy not in CUDA_GRAPH_STRATEGIES:
            raise ValueError(
                "cuda_graph_strategy must be None or one of "
                f"{', '.join(repr(s) for s in CUDA_GRAPH_STRATEGIES)}; got {cuda_graph_strategy!r}"
            )
        if not _backend.is_rtx():
            raise RuntimeError(
                f"cuda_graph_strategy is a TensorRT-RTX setting, but the runtime backend is "
                f"{_backend.backend_info().name!r}; call enable_cudagraphs without cuda_graph_strategy"
            )
    with ExitStack() as stack:
        if cuda_graph_strategy is not None:
            stack.enter_context(runtime_config(target, cuda_graph_strategy=cuda_graph_strategy))
        wrappers = tuple(CUDAGraphWrapper(module, max_graphs=max_graphs) for module in targets)
        # Registered after runtime_config, so graphs are freed before settings are restored.
        for wrapper in wrappers:
            stack.callback(wrapper.close)
        yield wrappers if isinstance(target, (list, tuple)) else wrappers[0]


def _targets(target: object) -> list[torch.nn.Module]:
    trt_modules(target, "enable_cudagraphs")  # TypeError/ValueError for a bad target, before any change
    return list(target) if isinstance(target, (list, tuple)) else [target]


def _named_trt_modules(module: torch.nn.Module) -> Iterator[tuple[str, TRTModule]]:
    return ((name, sub) for name, sub in module.named_modules() if isinstance(sub, TRTModule))


def _check_tensors(inputs: tuple[object, ...]) -> None:
    for index, value in enumerate(inputs):
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                "the enable_cudagraphs wrapper takes tensors only; "
                f"argument {index} is {type(value).__name__}"
            )


def _shape_key(inputs: tuple[torch.Tensor, ...]) -> ShapeKey:
    return tuple((tuple(t.shape), t.dtype, t.device) for t in inputs)


def _replay(entry: _CapturedGraph, inputs: tuple[torch.Tensor, ...]) -> Any:
    stream = torch.cuda.current_stream(entry.device)
    with torch.no_grad():
        stream.wait_event(entry.done)
        for static, fresh in zip(entry.static_inputs, inputs, strict=True):
            static.copy_(fresh)
        entry.graph.replay()
        outputs = _clone_outputs(entry.static_outputs)
        entry.done.record(stream)
        return outputs


def _clone_outputs(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone_outputs(v) for v in value)
    if isinstance(value, list):
        return [_clone_outputs(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone_outputs(v) for k, v in value.items()}
    return value
