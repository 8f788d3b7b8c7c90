"""RuntimeCache: the user-facing handle on a TensorRT-RTX runtime (JIT kernel) cache."""

from __future__ import annotations

from typing import Any

__all__ = ["RuntimeCache"]


class RuntimeCache:
    """Placeholder surface; the full facade (load/save/streams) is built in the runtime-settings work."""

    def __init__(self, path: str = "", autosave_on_del: bool = False) -> None:
        self.path = path
        self.autosave_on_del = autosave_on_del

    def ensure_materialized(self, runtime_config: Any) -> Any:
        """Return the backend IRuntimeCache, creating it from ``runtime_config`` on first use."""
        raise NotImplementedError
