"""Input: the shape range and dtype of one model input, checked before any export."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch

from torchrtx._spec import DTYPE_NAMES, dtype_from_name, dtype_name

__all__ = ["Input"]

Shape = tuple[int, ...]


class Input:
    """Describes one positional input of the model to compile.

    Give either a static ``shape`` or all three of ``min_shape``, ``opt_shape`` and
    ``max_shape`` (a dynamic input). The engine accepts every shape between min and
    max per dimension and is tuned for ``opt_shape``.

    Args:
        shape: The one shape a static input has.
        min_shape: Smallest shape a dynamic input accepts.
        opt_shape: The shape the engine is tuned for.
        max_shape: Largest shape a dynamic input accepts.
        dtype: A ``torch.dtype`` or its name (``"float16"``); see ``torchrtx._spec.DTYPE_NAMES``.
        name: Name of the engine input; defaults to the model's ``forward`` parameter name.

    Raises:
        ValueError: The spec is inconsistent (rank mismatch, ``min <= opt <= max`` broken,
            dims below 1, unsupported dtype); the message names the input and the problem.

    Example::

        torchrtx.Input(min_shape=(1, 3, 224, 224), opt_shape=(8, 3, 224, 224),
                       max_shape=(32, 3, 224, 224), dtype=torch.float16, name="images")
    """

    def __init__(
        self,
        shape: Sequence[int] | None = None,
        *,
        min_shape: Sequence[int] | None = None,
        opt_shape: Sequence[int] | None = None,
        max_shape: Sequence[int] | None = None,
        dtype: torch.dtype | str = torch.float32,
        name: str | None = None,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"Input name must be a non-empty string; got {name!r}")
        self.name = name
        self.dtype = self._check_dtype(dtype)
        self.min_shape, self.opt_shape, self.max_shape = self._check_shapes(
            shape, min_shape, opt_shape, max_shape
        )

    @classmethod
    def from_tensor(cls, tensor: torch.Tensor, name: str | None = None) -> Input:
        """A static Input with the shape and dtype of ``tensor``."""
        return cls(shape=tuple(tensor.shape), dtype=tensor.dtype, name=name)

    @property
    def is_dynamic(self) -> bool:
        """True when some dimension may vary between calls."""
        return self.min_shape != self.max_shape

    @property
    def dynamic_dims(self) -> tuple[int, ...]:
        """Indices of the dimensions whose min and max differ."""
        return tuple(
            i for i, (lo, hi) in enumerate(zip(self.min_shape, self.max_shape, strict=True)) if lo != hi
        )

    def with_name(self, name: str) -> Input:
        """A copy of this Input called ``name``."""
        return Input(
            min_shape=self.min_shape,
            opt_shape=self.opt_shape,
            max_shape=self.max_shape,
            dtype=self.dtype,
            name=name,
        )

    def __repr__(self) -> str:
        shapes = (
            f"shape={self.min_shape}"
            if not self.is_dynamic
            else f"min_shape={self.min_shape}, opt_shape={self.opt_shape}, max_shape={self.max_shape}"
        )
        return f"Input({shapes}, dtype={self.dtype}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Input):
            return NotImplemented
        return (self.name, self.dtype, self.min_shape, self.opt_shape, self.max_shape) == (
            other.name,
            other.dtype,
            other.min_shape,
            other.opt_shape,
            other.max_shape,
        )

    __hash__ = None  # type: ignore[assignment]

    def _label(self) -> str:
        return f"Input {self.name!r}" if self.name else "Input"

    def _check_dtype(self, dtype: torch.dtype | str) -> torch.dtype:
        try:
            resolved = dtype_from_name(dtype) if isinstance(dtype, str) else dtype
            dtype_name(resolved)
        except (ValueError, TypeError):
            raise ValueError(
                f"{self._label()}: unsupported dtype {dtype!r}; supported: {', '.join(DTYPE_NAMES)}"
            ) from None
        return resolved

    def _check_shapes(self, shape, min_shape, opt_shape, max_shape) -> tuple[Shape, Shape, Shape]:
        ranged = (min_shape, opt_shape, max_shape)
        if shape is not None:
            if any(s is not None for s in ranged):
                raise ValueError(f"{self._label()}: give either shape or min/opt/max_shape, not both")
            static = self._check_dims("shape", shape)
            return static, static, static
        if any(s is None for s in ranged):
            raise ValueError(
                f"{self._label()}: give a static shape, or all of min_shape, opt_shape and max_shape"
            )
        lo, opt, hi = (
            self._check_dims(label, dims)
            for label, dims in zip(("min_shape", "opt_shape", "max_shape"), ranged, strict=True)
        )
        if not len(lo) == len(opt) == len(hi):
            raise ValueError(
                f"{self._label()}: min_shape {lo}, opt_shape {opt} and max_shape {hi} have different ranks"
            )
        for axis, (a, b, c) in enumerate(zip(lo, opt, hi, strict=True)):
            if not a <= b <= c:
                raise ValueError(
                    f"{self._label()}: dim {axis} breaks min <= opt <= max ({a}, {b}, {c}); "
                    f"min_shape={lo}, opt_shape={opt}, max_shape={hi}"
                )
        return lo, opt, hi

    def _check_dims(self, label: str, dims: Sequence[int]) -> Shape:
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
            raise ValueError(f"{self._label()}: {label} must be a sequence of ints; got {dims!r}")
        sizes = []
        for d in dims:
            size = _as_int(d)
            if size is None:
                raise ValueError(f"{self._label()}: {label} {tuple(dims)!r} has a non-integer dim {d!r}")
            if size < 1:
                raise ValueError(
                    f"{self._label()}: {label} {tuple(dims)} has dim {size}; every dim must be >= 1"
                )
            sizes.append(size)
        return tuple(sizes)


def _as_int(value: object) -> int | None:
    """``value`` as an int if it is an integer (numpy and 0-d torch integers too), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None
