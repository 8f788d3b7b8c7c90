"""Turn PyTorch models into TensorRT-RTX engines: export, parse, build (no GPU needed)."""

from torchrtx.compiler.capabilities import KNOWN_CAPABILITIES, supported_capabilities
from torchrtx.compiler.compile import compile
from torchrtx.compiler.errors import CompileError, UnsupportedNode
from torchrtx.compiler.input import Input

__all__ = [
    "KNOWN_CAPABILITIES",
    "CompileError",
    "Input",
    "UnsupportedNode",
    "compile",
    "supported_capabilities",
]
