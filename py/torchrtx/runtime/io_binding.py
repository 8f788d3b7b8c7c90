"""Checking a call's inputs against an engine's profile and allocating its outputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torchrtx._spec import InputSpec, OutputSpec

__all__ = ["InputChecker", "OutputAllocator"]

# Shapes already validated are remembered per input (bounded, for long runs over many dynamic shapes).
_MAX_REMEMBERED_SHAPES = 256


def _range_text(spec: InputSpec) -> str:
    dims = (
        str(lo) if lo == hi else f"{lo}..{hi}" for lo, hi in zip(spec.min_shape, spec.max_shape, strict=True)
    )
    return "(" + ", ".join(dims) + ")"


class InputChecker:
    """Validates a call's tensors against the engine's inputs, in binding order.

    Every error names the offending input. Dtypes and ranges are resolved once here
    because this runs on every call.
    """

    def __init__(self, specs: Sequence[InputSpec]) -> None:
        self.specs = tuple(specs)
        self.names = tuple(spec.name for spec in self.specs)
        self._dtypes = tuple(spec.torch_dtype for spec in self.specs)
        self._bounds = tuple(tuple(zip(s.min_shape, s.max_shape, strict=True)) for s in self.specs)
        self._valid_shapes: tuple[set[torch.Size], ...] = tuple(set() for _ in self.specs)

    def check(self, inputs: Sequence[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
        """Return the inputs made contiguous; TypeError/ValueError naming the input if one does not fit.

        ``device`` is the engine's device, with its index on CUDA; inputs must be on exactly that device.
        """
        if len(inputs) != len(self.specs):
            raise TypeError(
                f"engine takes {len(self.specs)} input(s) ({', '.join(self.names)}), got {len(inputs)}"
            )
        checked = []
        for index, tensor in enumerate(inputs):
            # Fast path for the common case: a dtype/device/shape combination already validated.
            known = self._valid_shapes[index]
            if not (
                isinstance(tensor, torch.Tensor)
                and tensor.dtype is self._dtypes[index]
                and tensor.device == device
                and tensor.shape in known
            ):
                self._check_one(index, tensor, device)
                if len(known) >= _MAX_REMEMBERED_SHAPES:
                    known.clear()
                known.add(tensor.shape)
            checked.append(tensor if tensor.is_contiguous() else tensor.contiguous())
        return checked

    def _check_one(self, index: int, tensor: object, device: torch.device) -> None:
        spec, dtype, bounds = self.specs[index], self._dtypes[index], self._bounds[index]
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"input {spec.name!r} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dtype != dtype:
            raise TypeError(f"input {spec.name!r} must have dtype {dtype}, got {tensor.dtype}")
        if tensor.device != device:
            raise ValueError(f"input {spec.name!r} is on {tensor.device}, but the engine runs on {device}")
        shape = tuple(tensor.shape)
        if len(shape) != len(bounds):
            raise ValueError(
                f"input {spec.name!r} must have rank {len(bounds)} (profile {_range_text(spec)}), "
                f"got shape {shape}"
            )
        if not all(low <= size <= high for size, (low, high) in zip(shape, bounds, strict=True)):
            raise ValueError(
                f"input {spec.name!r} has shape {shape}, outside the engine's profile; "
                f"allowed {_range_text(spec)}"
            )


class OutputAllocator:
    """Allocates an engine's outputs, in binding order, at the shapes the context reports."""

    def __init__(self, specs: Sequence[OutputSpec]) -> None:
        self.specs = tuple(specs)
        self.names = tuple(spec.name for spec in self.specs)
        self._dtypes = tuple(spec.torch_dtype for spec in self.specs)

    def allocate(self, shapes: Sequence[tuple[int, ...]], device: torch.device) -> list[torch.Tensor]:
        """Empty tensors of ``shapes`` on ``device``."""
        return [
            torch.empty(shape, dtype=dtype, device=device)
            for shape, dtype in zip(shapes, self._dtypes, strict=True)
        ]
