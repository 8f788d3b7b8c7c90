"""GPU targets an engine can be built for, by the names users write (``"sm89"``)."""

from __future__ import annotations

from collections.abc import Iterable

from torchrtx._backend import builder_backend

__all__ = ["KNOWN_CAPABILITIES", "resolve_capabilities", "supported_capabilities"]

#: Targets torchrtx accepts. TensorRT-RTX runs on compute capability 8.0, 8.6, 8.9 and 12.x; the
#: builder's ``SM75`` member is left out because the runtime does not support Turing GPUs.
KNOWN_CAPABILITIES = ("sm80", "sm86", "sm89", "sm120", "sm121")


def supported_capabilities() -> tuple[str, ...]:
    """The known targets that the installed TensorRT-RTX builder can build for."""
    enum = builder_backend().ComputeCapability
    return tuple(name for name in KNOWN_CAPABILITIES if hasattr(enum, name.upper()))


def resolve_capabilities(requested: Iterable[str] | None) -> tuple[str, ...]:
    """Normalize requested targets (``None`` means every supported one).

    Names are case-insensitive and de-duplicated in order; an unknown or empty request
    raises ValueError naming the supported targets.
    """
    supported = supported_capabilities()
    if requested is None:
        return supported
    if isinstance(requested, str):
        requested = [requested]
    resolved: list[str] = []
    for name in requested:
        key = str(name).strip().lower()
        if key not in supported:
            raise ValueError(f"unsupported compute capability {name!r}; supported: {', '.join(supported)}")
        if key not in resolved:
            resolved.append(key)
    if not resolved:
        raise ValueError(f"compute_capabilities is empty; pick from: {', '.join(supported)}")
    return tuple(resolved)
