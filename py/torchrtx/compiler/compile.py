"""``torchrtx.compile``: a PyTorch model to a :class:`~torchrtx.TRTModule`, on any machine.

Three stages, each logged with its duration on the ``torchrtx.compiler`` logger:
export (``torch.export`` then ONNX), parse (TensorRT-RTX ``OnnxParser``) and build
(``build_serialized_network`` for the requested compute capabilities). None needs a GPU.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch.export import ExportedProgram

from torchrtx._backend import builder_backend
from torchrtx._spec import EngineSpec
from torchrtx.compiler.build import build_plan, parse_onnx
from torchrtx.compiler.capabilities import resolve_capabilities
from torchrtx.compiler.export import default_input_names, export_onnx
from torchrtx.compiler.input import Input
from torchrtx.runtime.module import TRTModule
from torchrtx.runtime.settings import RuntimeSettings

__all__ = ["compile"]

_log = logging.getLogger("torchrtx.compiler")


def compile(
    model: torch.nn.Module | ExportedProgram,
    inputs: Sequence[Input | torch.Tensor],
    *,
    compute_capabilities: Iterable[str] | None = None,
    runtime_settings: RuntimeSettings | None = None,
) -> TRTModule:
    """Compile ``model`` into a TensorRT-RTX engine wrapped in a :class:`~torchrtx.TRTModule`.

    Args:
        model: An ``nn.Module`` (traced in eval mode; its training flags are restored) or a
            ``torch.export.ExportedProgram``.
        inputs: One :class:`Input` per positional argument of ``forward``; a tensor stands
            for a static Input of its shape and dtype. Unnamed Inputs take the ``forward``
            parameter names.
        compute_capabilities: Targets such as ``["sm89", "sm120"]``; ``None`` builds for
            every target the installed TensorRT-RTX supports (see
            :data:`torchrtx.compiler.capabilities.KNOWN_CAPABILITIES`).
        runtime_settings: How the engine runs from its first call (the module's initial
            :attr:`~torchrtx.TRTModule.runtime_settings`).

    Returns:
        A module holding the plan and its I/O description (running it needs a supported GPU).

    Raises:
        ValueError: bad ``inputs`` or ``compute_capabilities`` (raised before any export).
        TypeError: ``runtime_settings`` is not a RuntimeSettings.
        CompileError: a stage failed; a parse failure lists every unsupported ONNX node.
    """
    capabilities = resolve_capabilities(compute_capabilities)
    if runtime_settings is not None and not isinstance(runtime_settings, RuntimeSettings):
        raise TypeError(
            f"runtime_settings must be a RuntimeSettings or None; got {type(runtime_settings).__name__}"
        )
    named_inputs = _named_inputs(model, inputs)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="torchrtx-") as workdir:
        with _stage("export", timings):
            exported = export_onnx(model, named_inputs, workdir)
        with _stage("parse", timings):
            parsed = parse_onnx(exported.path)
    with _stage("build", timings, f"for {', '.join(capabilities)}"):
        built = build_plan(parsed, named_inputs, capabilities)
    spec = EngineSpec(
        inputs=built.inputs,
        outputs=built.outputs,
        compute_capabilities=capabilities,
        trt_version=str(builder_backend().__version__),
        returns_tuple=exported.returns_tuple,
        extra={"torch_version": torch.__version__, "compile_seconds": timings},
    )
    # The engine is created with these settings on its first call, so that call creates the only context.
    module = TRTModule(built.plan, spec, runtime_settings=runtime_settings)
    _log.info(
        "compiled: %d-byte engine, inputs %s, outputs %s",
        len(built.plan),
        ", ".join(exported.input_names),
        ", ".join(exported.output_names),
    )
    return module


def _named_inputs(
    model: torch.nn.Module | ExportedProgram, inputs: Sequence[Input | torch.Tensor]
) -> list[Input]:
    if not isinstance(model, torch.nn.Module | ExportedProgram):
        raise TypeError(f"model must be a torch.nn.Module or an ExportedProgram; got {type(model).__name__}")
    if isinstance(inputs, Input | torch.Tensor) or not isinstance(inputs, Sequence) or not inputs:
        raise ValueError(
            "inputs must be a non-empty list of torchrtx.Input (or tensors), one per model argument"
        )
    specs = []
    for index, item in enumerate(inputs):
        if isinstance(item, torch.Tensor):
            item = Input.from_tensor(item)
        elif not isinstance(item, Input):
            raise ValueError(
                f"inputs[{index}] must be a torchrtx.Input or a tensor; got {type(item).__name__}"
            )
        specs.append(item)
    _check_input_count(model, len(specs))
    defaults = default_input_names(model, len(specs))
    named = [
        item if item.name else item.with_name(default) for item, default in zip(specs, defaults, strict=True)
    ]
    names = [item.name for item in named]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Input names must be unique; repeated: {', '.join(duplicates)}")
    return named


def _check_input_count(model: torch.nn.Module | ExportedProgram, count: int) -> None:
    if isinstance(model, ExportedProgram):
        expected = len(model.graph_signature.user_inputs)
        low, high = expected, expected
    else:
        params = list(inspect.signature(model.forward).parameters.values())
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            return
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        low, high = sum(p.default is p.empty for p in positional), len(positional)
    if not low <= count <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise ValueError(f"the model takes {wanted} positional input(s) but {count} Input(s) were given")


@contextlib.contextmanager
def _stage(name: str, timings: dict[str, float], detail: str = "") -> Iterator[None]:
    _log.info("%s: started%s", name, f" ({detail})" if detail else "")
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)
    _log.info("%s: done in %.2f s", name, timings[name])
