"""The exception raised when a model cannot be turned into an engine."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CompileError", "UnsupportedNode"]


@dataclass(frozen=True)
class UnsupportedNode:
    """One ONNX node the TensorRT-RTX parser rejected.

    Attributes:
        name: The node's name in the exported ONNX graph.
        op_type: The ONNX operator, e.g. ``"BitwiseXor"``.
        reason: The parser's description of the failure, or its error code (such as
            ``"unsupported node"``) when it gives none.
    """

    name: str
    op_type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.op_type}): {self.reason}"


class CompileError(RuntimeError):
    """A stage of :func:`torchrtx.compile` (export, parse or build) failed.

    Attributes:
        stage: ``"export"``, ``"parse"`` or ``"build"``.
        unsupported_nodes: For parse failures, every ONNX node the parser rejected.
    """

    def __init__(self, stage: str, message: str, unsupported_nodes: tuple[UnsupportedNode, ...] = ()) -> None:
        super().__init__(f"{stage} failed: {message}")
        self.stage = stage
        self.unsupported_nodes = unsupported_nodes
