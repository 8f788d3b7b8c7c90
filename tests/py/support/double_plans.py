"""Plans the double can "deserialize": a registry from plan bytes to a reference torch function.

The double cannot parse real TensorRT-RTX plans, so every plan a test wants to run
is registered with the function that computes what the engine would: synthetic
plans (made up bytes, fast) or real plans from the real builder together with the
model they were built from.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from torchrtx._spec import EngineSpec, InputSpec, OutputSpec, dtype_name
from torchrtx.runtime.module import TRTModule

__all__ = [
    "PlanRecord",
    "as_list",
    "lookup_plan",
    "on_meta",
    "register_plan",
    "synthetic_module",
    "synthetic_spec",
]

ReferenceFn = Callable[..., torch.Tensor | Sequence[torch.Tensor]]
ShapeFn = Callable[[Sequence[tuple[int, ...]]], Sequence[tuple[int, ...]]]


@dataclass
class PlanRecord:
    """What the double knows about one registered plan."""

    plan_id: str
    reference_fn: ReferenceFn
    spec: EngineSpec
    shape_fn: ShapeFn | None = None
    _shapes: dict[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    _meta_reference: ReferenceFn | None = None

    def output_shapes(
        self, input_shapes: Sequence[tuple[int, ...]], device: torch.device
    ) -> tuple[tuple[int, ...], ...]:
        """Output shapes for ``input_shapes``: from ``shape_fn``, else by a run on meta tensors."""
        key = tuple(tuple(s) for s in input_shapes)
        found = self._shapes.get(key)
        if found is None:
            found = tuple(tuple(s) for s in self._infer(key, device))
            self._shapes[key] = found
        return found

    def _infer(
        self, input_shapes: tuple[tuple[int, ...], ...], device: torch.device
    ) -> Sequence[tuple[int, ...]]:
        if self.shape_fn is not None:
            return self.shape_fn(input_shapes)
        dtypes = [item.torch_dtype for item in self.spec.inputs]
        try:
            meta_inputs = [
                torch.empty(s, dtype=d, device="meta") for s, d in zip(input_shapes, dtypes, strict=True)
            ]
            results = as_list(self._meta_fn()(*meta_inputs))
        except (RuntimeError, NotImplementedError, TypeError):
            # References that close over real tensors cannot run on meta: run them on zeros instead.
            zeros = [
                torch.zeros(s, dtype=d, device=device) for s, d in zip(input_shapes, dtypes, strict=True)
            ]
            with torch.no_grad():
                results = as_list(self.reference_fn(*zeros))
        return [tuple(r.shape) for r in results]

    def _meta_fn(self) -> ReferenceFn:
        if self._meta_reference is None:
            self._meta_reference = on_meta(self.reference_fn)
        return self._meta_reference


def on_meta(fn: ReferenceFn) -> ReferenceFn:
    """``fn`` runnable on meta tensors: a meta copy of an ``nn.Module``, else ``fn`` itself."""
    return copy.deepcopy(fn).to("meta") if isinstance(fn, torch.nn.Module) else fn


def as_list(result: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """A reference function's result as a list of tensors."""
    return [result] if isinstance(result, torch.Tensor) else list(result)


_lock = threading.Lock()
_registry: dict[bytes, PlanRecord] = {}


def _key(plan: bytes | bytearray | memoryview) -> bytes:
    return hashlib.sha256(bytes(plan)).digest()


def register_plan(
    plan: bytes, reference_fn: ReferenceFn, spec: EngineSpec, shape_fn: ShapeFn | None = None
) -> PlanRecord:
    """Let every double deserialize ``plan`` as an engine computing ``reference_fn`` with I/O ``spec``."""
    key = _key(plan)
    record = PlanRecord(plan_id=key.hex()[:12], reference_fn=reference_fn, spec=spec, shape_fn=shape_fn)
    with _lock:
        _registry[key] = record
    return record


def lookup_plan(plan: bytes | bytearray | memoryview) -> PlanRecord | None:
    """The record registered for ``plan``, or None (deserializing then fails, as for real)."""
    with _lock:
        return _registry.get(_key(plan))


def synthetic_spec(
    reference_fn: ReferenceFn,
    inputs: Sequence[InputSpec],
    *,
    returns_tuple: bool | None = None,
    compute_capabilities: Sequence[str] = (),
) -> EngineSpec:
    """An EngineSpec for ``reference_fn``: outputs ``output0..``; dims that vary over the profile are -1.

    ``compute_capabilities`` defaults to none recorded, which the runtime does not check.
    """

    meta_fn = on_meta(reference_fn)

    def run(shape_attr: str) -> torch.Tensor | Sequence[torch.Tensor]:
        return meta_fn(
            *[torch.empty(getattr(i, shape_attr), dtype=i.torch_dtype, device="meta") for i in inputs]
        )

    at_min, at_max = as_list(run("min_shape")), as_list(run("max_shape"))
    outputs = tuple(
        OutputSpec(
            name=f"output{index}",
            dtype=dtype_name(low.dtype),
            shape=tuple(a if a == b else -1 for a, b in zip(low.shape, high.shape, strict=True)),
        )
        for index, (low, high) in enumerate(zip(at_min, at_max, strict=True))
    )
    if returns_tuple is None:
        returns_tuple = not isinstance(run("opt_shape"), torch.Tensor)
    return EngineSpec(
        inputs=tuple(inputs),
        outputs=outputs,
        compute_capabilities=tuple(compute_capabilities),
        trt_version="double",
        returns_tuple=returns_tuple,
    )


def synthetic_module(
    reference_fn: ReferenceFn,
    inputs: Sequence[InputSpec],
    *,
    returns_tuple: bool | None = None,
    compute_capabilities: Sequence[str] = (),
) -> TRTModule:
    """A TRTModule whose made-up plan the double runs as ``reference_fn`` (meta-traceable fns)."""
    spec = synthetic_spec(
        reference_fn, inputs, returns_tuple=returns_tuple, compute_capabilities=compute_capabilities
    )
    plan = b"TRTX-DOUBLE-PLAN:" + uuid.uuid4().bytes
    register_plan(plan, reference_fn, spec)
    return TRTModule(plan, spec)
