"""Stages 2 and 3 of compile: parse the ONNX file with TensorRT-RTX, then build the plan.

During a parse or build the shared TensorRT logger collects errors so a failure can name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torchrtx._backend import builder_backend
from torchrtx._spec import InputSpec, OutputSpec
from torchrtx._trt_logger import collect_errors, trt_logger
from torchrtx.compiler.errors import CompileError, UnsupportedNode
from torchrtx.compiler.input import Input

__all__ = ["ParsedNetwork", "build_plan", "parse_onnx"]

#: TensorRT data types an engine I/O tensor may have, by torchrtx's dtype name.
_DTYPE_NAMES = {
    "FLOAT": "float32",
    "HALF": "float16",
    "BF16": "bfloat16",
    "INT8": "int8",
    "INT32": "int32",
    "INT64": "int64",
    "BOOL": "bool",
    "UINT8": "uint8",
}


@dataclass
class ParsedNetwork:
    """A TensorRT-RTX network definition parsed from ONNX, with the objects that keep it alive."""

    builder: Any
    network: Any
    parser: Any


def parse_onnx(path: str) -> ParsedNetwork:
    """Parse the ONNX file at ``path`` into a TensorRT-RTX network.

    Raises:
        CompileError: the parser rejected the model; ``unsupported_nodes`` lists every failing node.
    """
    trt = builder_backend()
    with collect_errors(trt) as logged:
        builder = trt.Builder(trt_logger(trt))
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, trt_logger(trt))
        parsed_ok = parser.parse_from_file(path)
    if not parsed_ok or parser.num_errors:
        nodes = tuple(_unsupported_node(parser.get_error(i)) for i in range(parser.num_errors))
        details = "; ".join(str(node) for node in nodes) or "; ".join(logged) or "no details from the parser"
        raise CompileError("parse", f"TensorRT-RTX cannot parse {len(nodes)} ONNX node(s): {details}", nodes)
    return ParsedNetwork(builder=builder, network=network, parser=parser)


def _unsupported_node(error: Any) -> UnsupportedNode:
    reason = error.desc().strip()
    # The parser's op checkers fail a bare assertion and describe it as "false"; the code says more.
    if reason in ("", "false"):
        reason = error.code().name.lower().replace("_", " ")
    return UnsupportedNode(
        name=error.node_name() or f"#{error.node()}",
        op_type=error.node_operator() or "?",
        reason=reason,
    )


@dataclass(frozen=True)
class BuiltPlan:
    """The serialized engine and the I/O the network and its profile describe."""

    plan: bytes
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]


def build_plan(parsed: ParsedNetwork, inputs: Sequence[Input], capabilities: Sequence[str]) -> BuiltPlan:
    """Build a plan for ``capabilities`` with one optimization profile spanning each Input's range.

    The recorded input ranges are read back from the profile TensorRT-RTX was given.

    Raises:
        CompileError: the network's inputs disagree with ``inputs``, or the builder failed.
    """
    trt = builder_backend()
    network = parsed.network
    _check_network_inputs(network, inputs)
    config = parsed.builder.create_builder_config()
    profile = parsed.builder.create_optimization_profile()
    for item in inputs:
        profile.set_shape(item.name, item.min_shape, item.opt_shape, item.max_shape)
    config.add_optimization_profile(profile)
    config.num_compute_capabilities = len(capabilities)
    for index, name in enumerate(capabilities):
        config.set_compute_capability(getattr(trt.ComputeCapability, name.upper()), index)
    with collect_errors(trt) as logged:
        plan = parsed.builder.build_serialized_network(network, config)
    if plan is None:
        raise CompileError(
            "build",
            "TensorRT-RTX could not build the engine: "
            + ("; ".join(logged) or "no details from the builder"),
        )
    input_specs = tuple(_input_spec(network.get_input(i), profile) for i in range(network.num_inputs))
    output_specs = tuple(_output_spec(network.get_output(i)) for i in range(network.num_outputs))
    return BuiltPlan(plan=bytes(plan), inputs=input_specs, outputs=output_specs)


def _check_network_inputs(network: Any, inputs: Sequence[Input]) -> None:
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    wanted = [item.name for item in inputs]
    if names != wanted:
        raise CompileError("build", f"the ONNX graph has inputs {names} but the Inputs are {wanted}")


def _dtype_name(tensor: Any) -> str:
    try:
        return _DTYPE_NAMES[tensor.dtype.name]
    except KeyError:
        raise CompileError(
            "build",
            f"tensor {tensor.name!r} has TensorRT type {tensor.dtype.name}, "
            f"which torchrtx cannot carry; supported: {', '.join(_DTYPE_NAMES.values())}",
        ) from None


def _input_spec(tensor: Any, profile: Any) -> InputSpec:
    low, opt, high = (tuple(int(d) for d in shape) for shape in profile.get_shape(tensor.name))
    return InputSpec(
        name=tensor.name, dtype=_dtype_name(tensor), min_shape=low, opt_shape=opt, max_shape=high
    )


def _output_spec(tensor: Any) -> OutputSpec:
    return OutputSpec(name=tensor.name, dtype=_dtype_name(tensor), shape=tuple(int(d) for d in tensor.shape))
