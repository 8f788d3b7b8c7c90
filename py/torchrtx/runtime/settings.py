"""RuntimeSettings: how a compiled engine runs, changeable without a rebuild."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from torchrtx.runtime.cache_dir import default_cache_path

if TYPE_CHECKING:
    from torchrtx.runtime.cache import RuntimeCache

__all__ = ["CUDA_GRAPH_STRATEGIES", "KERNEL_STRATEGIES", "RuntimeSettings"]

#: Allowed values of :attr:`RuntimeSettings.cuda_graph_strategy`.
CUDA_GRAPH_STRATEGIES = ("disabled", "whole_graph_capture")
#: Allowed values of :attr:`RuntimeSettings.dynamic_shapes_kernel_specialization_strategy`.
KERNEL_STRATEGIES = ("lazy", "eager", "none")

RuntimeCacheSpec = Union[None, str, "os.PathLike[str]", "RuntimeCache"]


@dataclass(frozen=True)
class RuntimeSettings:
    """Runtime knobs of a TensorRT-RTX engine.

    Attributes:
        cuda_graph_strategy: ``"disabled"`` or ``"whole_graph_capture"`` (TensorRT-RTX
            captures and replays the whole engine internally).
        dynamic_shapes_kernel_specialization_strategy: ``"lazy"`` (compile shape-specialized
            kernels in the background, use fallbacks meanwhile), ``"eager"`` (compile them
            before the call that needs them) or ``"none"`` (fallback kernels only).
        runtime_cache: Where JIT-compiled kernels are kept: a file path (each engine gets its
            own handle on it), a shared :class:`~torchrtx.runtime.RuntimeCache`, or ``None``
            for no cache. Defaults to a file in the private per-user cache directory.

    A bad value raises ValueError naming the allowed ones.
    """

    cuda_graph_strategy: str = "disabled"
    dynamic_shapes_kernel_specialization_strategy: str = "lazy"
    runtime_cache: RuntimeCacheSpec = field(default_factory=default_cache_path)

    def __post_init__(self) -> None:
        _check_choice("cuda_graph_strategy", self.cuda_graph_strategy, CUDA_GRAPH_STRATEGIES)
        _check_choice(
            "dynamic_shapes_kernel_specialization_strategy",
            self.dynamic_shapes_kernel_specialization_strategy,
            KERNEL_STRATEGIES,
        )
        object.__setattr__(self, "runtime_cache", _normalize_cache(self.runtime_cache))

    def replace(self, **overrides: Any) -> RuntimeSettings:
        """Return a copy with ``overrides`` applied; TypeError names the valid fields for an unknown key."""
        unknown = sorted(set(overrides) - set(field_names()))
        if unknown:
            raise TypeError(
                f"unknown runtime setting(s) {', '.join(unknown)}; valid: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **overrides)


def field_names() -> tuple[str, ...]:
    """Names of the :class:`RuntimeSettings` fields."""
    return tuple(f.name for f in dataclasses.fields(RuntimeSettings))


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")


def _normalize_cache(value: object) -> RuntimeCacheSpec:
    from torchrtx.runtime.cache import RuntimeCache

    if value is None or isinstance(value, RuntimeCache):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise ValueError(
        "runtime_cache must be None, a non-empty path (str or os.PathLike) or a RuntimeCache; "
        f"got {value!r}"
    )
