"""TRTModule: one compiled TensorRT-RTX engine as a ``torch.nn.Module``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from torchrtx._spec import EngineSpec

if TYPE_CHECKING:
    from torchrtx.runtime.engine import PythonTRTEngine

__all__ = ["TRTModule"]


class TRTModule(torch.nn.Module):
    """A compiled engine plus the description of its inputs and outputs.

    Args:
        serialized_engine: The plan produced by the TensorRT-RTX builder.
        spec: Names, dtypes and shape ranges of the engine's I/O, and its build targets.

    The engine is deserialized on the first call that needs it, so constructing,
    describing and saving a module works on a machine without a GPU.
    """

    def __init__(self, serialized_engine: bytes, spec: EngineSpec) -> None:
        super().__init__()
        self._serialized_engine = bytes(serialized_engine)
        self._spec = spec
        self._engine: PythonTRTEngine | None = None

    @property
    def serialized_engine(self) -> bytes:
        """The engine plan bytes."""
        return self._serialized_engine

    @property
    def spec(self) -> EngineSpec:
        """The engine's I/O description and build targets."""
        return self._spec

    @property
    def engine(self) -> PythonTRTEngine:
        """The runtime engine, created on first access."""
        if self._engine is None:
            from torchrtx.runtime.engine import PythonTRTEngine

            self._engine = PythonTRTEngine(self._serialized_engine, self._spec)
        return self._engine

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        outputs = self.engine.execute(list(inputs))
        if self._spec.returns_tuple:
            return tuple(outputs)
        return outputs[0]

    def describe(self) -> str:
        """A human-readable table of the engine's I/O, targets and size."""
        spec = self._spec
        lines = [
            f"TensorRT-RTX engine: {len(self._serialized_engine):,} bytes, built with TensorRT-RTX {spec.trt_version}",
            f"compute capabilities: {', '.join(spec.compute_capabilities)}",
            "inputs:",
        ]
        for item in spec.inputs:
            lines.append(
                f"  {item.name:<16} {item.dtype:<9} min={_shape(item.min_shape)} opt={_shape(item.opt_shape)} "
                f"max={_shape(item.max_shape)}"
            )
        lines.append("outputs:")
        for item in spec.outputs:
            lines.append(f"  {item.name:<16} {item.dtype:<9} shape={_shape(item.shape)}")
        return "\n".join(lines)

    def extra_repr(self) -> str:
        names_in = ", ".join(i.name for i in self._spec.inputs)
        names_out = ", ".join(o.name for o in self._spec.outputs)
        caps = ",".join(self._spec.compute_capabilities)
        return f"inputs=[{names_in}], outputs=[{names_out}], capabilities=[{caps}], plan_bytes={len(self._serialized_engine)}"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("?" if d < 0 else str(d) for d in shape) + ")"
