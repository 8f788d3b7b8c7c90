"""What a compiled engine looks like from outside: its inputs, outputs and targets.

An :class:`EngineSpec` travels with the serialized engine so a module can describe
itself, check inputs and allocate outputs without deserializing the plan (and
without a GPU). It round-trips through plain JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["DTYPE_NAMES", "EngineSpec", "InputSpec", "OutputSpec", "dtype_from_name", "dtype_name"]

#: dtypes an engine I/O tensor may have, by the name stored on disk.
DTYPE_NAMES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int8": torch.int8,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "uint8": torch.uint8,
}
_NAMES_BY_DTYPE = {dtype: name for name, dtype in DTYPE_NAMES.items()}


def dtype_name(dtype: torch.dtype) -> str:
    """Return the stored name of ``dtype``; ValueError if engines cannot carry it."""
    try:
        return _NAMES_BY_DTYPE[dtype]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype}; supported: {', '.join(DTYPE_NAMES)}") from None


def dtype_from_name(name: str) -> torch.dtype:
    """Inverse of :func:`dtype_name`."""
    try:
        return DTYPE_NAMES[name]
    except KeyError:
        raise ValueError(f"unsupported dtype name {name!r}; supported: {', '.join(DTYPE_NAMES)}") from None


@dataclass(frozen=True)
class InputSpec:
    """One engine input: its name, dtype and the profile range of its shape."""

    name: str
    dtype: str
    min_shape: tuple[int, ...]
    opt_shape: tuple[int, ...]
    max_shape: tuple[int, ...]

    @property
    def torch_dtype(self) -> torch.dtype:
        """The input's dtype as a ``torch.dtype``."""
        return dtype_from_name(self.dtype)

    @property
    def is_dynamic(self) -> bool:
        """True when some dimension may vary between calls."""
        return self.min_shape != self.max_shape


@dataclass(frozen=True)
class OutputSpec:
    """One engine output: its name, dtype and shape (``-1`` marks a dynamic dim)."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def torch_dtype(self) -> torch.dtype:
        """The output's dtype as a ``torch.dtype``."""
        return dtype_from_name(self.dtype)


@dataclass(frozen=True)
class EngineSpec:
    """Everything known about a compiled engine besides its plan bytes.

    Attributes:
        inputs: Engine inputs in binding order.
        outputs: Engine outputs in binding order.
        compute_capabilities: Targets the plan was built for, e.g. ``("sm89", "sm120")``.
        trt_version: Version of the TensorRT-RTX builder that made the plan.
        returns_tuple: Whether the source model returned a tuple/list (else a single tensor).
        extra: Informational details such as the torch version and the compile stage
            durations; ignored when specs are compared.
    """

    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    compute_capabilities: tuple[str, ...]
    trt_version: str
    returns_tuple: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineSpec:
        """Rebuild from :meth:`to_json` output; KeyError/TypeError on malformed data."""
        inputs = tuple(
            InputSpec(
                name=item["name"],
                dtype=item["dtype"],
                min_shape=tuple(item["min_shape"]),
                opt_shape=tuple(item["opt_shape"]),
                max_shape=tuple(item["max_shape"]),
            )
            for item in data["inputs"]
        )
        outputs = tuple(
            OutputSpec(name=item["name"], dtype=item["dtype"], shape=tuple(item["shape"]))
            for item in data["outputs"]
        )
        return cls(
            inputs=inputs,
            outputs=outputs,
            compute_capabilities=tuple(data["compute_capabilities"]),
            trt_version=data["trt_version"],
            returns_tuple=bool(data.get("returns_tuple", False)),
            extra=dict(data.get("extra", {})),
        )
