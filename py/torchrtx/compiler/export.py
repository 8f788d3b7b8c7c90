"""Stage 1 of compile: a PyTorch model to an ONNX file, through ``torch.export``.

Dynamic dimensions of each :class:`~torchrtx.Input` become ``Dim.DYNAMIC`` ranges, so
``torch.export`` refuses a model that specializes a dimension the user asked to vary and
infers equalities between inputs (two inputs sharing a batch) by itself. The traced
ranges are then checked against the requested ones: an engine must accept the whole
range the user asked for.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.export import Dim, ExportedProgram

from torchrtx.compiler.errors import CompileError
from torchrtx.compiler.exporter_noise import quiet_exporter
from torchrtx.compiler.input import Input

__all__ = ["OnnxExport", "default_input_names", "export_onnx"]

#: torch.export treats sizes 0 and 1 as special and never traces them as dynamic; a dynamic
#: dim is traced at this size or more, and its traced range starts at 2 when the user asks for 1.
_SMALLEST_TRACED_SIZE = 2


@dataclass(frozen=True)
class OnnxExport:
    """What stage 1 produced.

    Attributes:
        path: The ONNX file (weights may sit in a ``.data`` file beside it).
        input_names: Graph input names, in the order of the model's arguments.
        output_names: Graph output names, in the order the model returns them.
        returns_tuple: Whether the model returns a tuple/list rather than one tensor.
    """

    path: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    returns_tuple: bool


def default_input_names(model: torch.nn.Module | ExportedProgram, count: int) -> tuple[str, ...]:
    """Names for ``count`` inputs: the model's ``forward`` parameter names where it has them."""
    if isinstance(model, ExportedProgram):
        names = list(model.graph_signature.user_inputs)
    else:
        params = inspect.signature(model.forward).parameters.values()
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = names[:count]
    names += [f"input_{i}" for i in range(len(names), count)]
    return tuple(names)


def export_onnx(
    model: torch.nn.Module | ExportedProgram, inputs: Sequence[Input], directory: str
) -> OnnxExport:
    """Export ``model`` for ``inputs`` (each named) to ``directory/model.onnx``.

    An ``nn.Module`` is traced in eval mode (its training flags are restored afterwards);
    an ``ExportedProgram`` is used as it is.

    Raises:
        CompileError: tracing or ONNX conversion failed, or the traced model does not
            accept the full shape range an Input asks for.
    """
    args = tuple(_example_tensor(item) for item in inputs)
    with quiet_exporter():
        program = model if isinstance(model, ExportedProgram) else _trace(model, args, inputs)
        _check_traced_inputs(program, inputs)
        returns_tuple, output_count = _output_structure(program)
        output_names = tuple(f"output_{i}" for i in range(output_count))
        input_names = tuple(item.name for item in inputs)
        path = os.path.join(directory, "model.onnx")
        _save_onnx(program, args, input_names, output_names, path)
    return OnnxExport(
        path=path, input_names=input_names, output_names=output_names, returns_tuple=returns_tuple
    )


def _save_onnx(
    program: ExportedProgram,
    args: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    path: str,
) -> None:
    try:
        onnx_program = torch.onnx.export(
            program,
            args,
            dynamo=True,
            verbose=False,
            input_names=list(input_names),
            output_names=list(output_names),
        )
        onnx_program.save(path)
    except Exception as exc:
        raise CompileError("export", f"converting the traced model to ONNX failed: {exc}") from exc


def _example_tensor(item: Input) -> torch.Tensor:
    shape = list(item.opt_shape)
    for axis in item.dynamic_dims:
        if shape[axis] < _SMALLEST_TRACED_SIZE:
            shape[axis] = max(item.min_shape[axis], _SMALLEST_TRACED_SIZE)
    return torch.zeros(shape, dtype=item.dtype)


def _trace(
    model: torch.nn.Module, args: tuple[torch.Tensor, ...], inputs: Sequence[Input]
) -> ExportedProgram:
    dynamic_shapes = tuple(
        {axis: Dim.DYNAMIC(min=item.min_shape[axis], max=item.max_shape[axis]) for axis in item.dynamic_dims}
        or None
        for item in inputs
    )
    try:
        with _eval_mode(model):
            return torch.export.export(model, args, dynamic_shapes=dynamic_shapes)
    except Exception as exc:
        raise CompileError(
            "export", f"torch.export could not trace the model for the given Inputs: {exc}"
        ) from exc


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    training = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, flag in training.items():
            module.train(flag)


def _check_traced_inputs(program: ExportedProgram, inputs: Sequence[Input]) -> None:
    user_inputs = program.graph_signature.user_inputs
    values = {node.name: node.meta["val"] for node in program.graph.nodes if node.op == "placeholder"}
    for placeholder, item in zip(user_inputs, inputs, strict=True):
        traced = values[placeholder]
        if traced.dtype != item.dtype:
            raise CompileError(
                "export",
                f"input {item.name!r} is {traced.dtype} in the model but its Input says {item.dtype}",
            )
        traced_shape = traced.shape
        if len(traced_shape) != len(item.min_shape):
            raise CompileError(
                "export",
                f"input {item.name!r} has rank {len(traced_shape)} in the model "
                f"but the Input has rank {len(item.min_shape)}",
            )
        for axis, size in enumerate(traced_shape):
            low, high = _traced_range(program, size)
            if low > item.min_shape[axis] or high < item.max_shape[axis]:
                raise CompileError(
                    "export",
                    f"input {item.name!r} dim {axis}: the model accepts sizes {_range_text(low, high)} only, "
                    f"but the Input asks for [{item.min_shape[axis]}, {item.max_shape[axis]}]",
                )


def _traced_range(program: ExportedProgram, size: int | torch.SymInt) -> tuple[int, float]:
    if not isinstance(size, torch.SymInt):
        return int(size), int(size)
    bounds = program.range_constraints.get(size.node.expr)
    if bounds is None:  # a derived size such as 2*s0: torch.export checked it against its base dim
        return 1, math.inf
    lower = int(bounds.lower)
    # torch.export's 0/1 rule puts every dynamic range at 2 or more; the graph itself serves size 1.
    if lower == _SMALLEST_TRACED_SIZE:
        lower = 1
    upper = float(bounds.upper) if bounds.upper.is_finite else math.inf
    return lower, upper


def _range_text(low: int, high: float) -> str:
    if low == high:
        return f"= {low}"
    return f"in [{low}, {int(high) if high != math.inf else 'inf'}]"


def _output_structure(program: ExportedProgram) -> tuple[bool, int]:
    spec = program.call_spec.out_spec
    if spec.is_leaf():
        return False, 1
    if spec.type in (tuple, list) and all(child.is_leaf() for child in spec.children()):
        return True, spec.num_children
    raise CompileError(
        "export", f"the model must return a tensor or a flat tuple/list of tensors; it returns {spec}"
    )
