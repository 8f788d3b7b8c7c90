"""TRTModule: one compiled TensorRT-RTX engine as a ``torch.nn.Module``."""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

import torch

from torchrtx._spec import EngineSpec
from torchrtx.runtime.cache import RuntimeCache
from torchrtx.runtime.cache_dir import is_default_cache_path
from torchrtx.runtime.settings import RuntimeSettings

if TYPE_CHECKING:
    from torchrtx.runtime.engine import PythonTRTEngine

__all__ = ["TRTModule"]

# Guards settings resolution and engine creation of every TRTModule; a module-level lock keeps
# the module itself free of unpicklable attributes. Changes of settings are rare, so one lock is enough.
_SETTINGS_LOCK = threading.RLock()

# The default cache file is shared by every module of the process that leaves ``runtime_cache`` at
# its default: one handle per file, saved when the last such module goes away. Separate handles would
# each save their own kernels and conflict with one another at every exit.
_DEFAULT_CACHES: weakref.WeakValueDictionary[str, RuntimeCache] = weakref.WeakValueDictionary()


class TRTModule(torch.nn.Module):
    """A compiled engine plus the description of its inputs and outputs.

    Args:
        serialized_engine: The plan produced by the TensorRT-RTX builder.
        spec: Names, dtypes and shape ranges of the engine's I/O, and its build targets.
        runtime_settings: Settings the engine starts with (the compile-time hint); the first
            call then creates the only execution context. Default: :class:`RuntimeSettings()`.

    The engine is deserialized on the first call that needs it, so constructing,
    describing and saving a module works on a machine without a GPU.
    """

    def __init__(self, serialized_engine: bytes, spec: EngineSpec,
                 runtime_settings: RuntimeSettings | None = None) -> None:
        super().__init__()
        self._serialized_engine = bytes(serialized_engine)
        self._spec = spec
        self._engine: PythonTRTEngine | None = None
        self._runtime_settings = RuntimeSettings()
        # Caches this module made from path settings, by absolute path; reused whenever the same
        # path comes back (so restoring settings restores the same handle) and autosaved on collection.
        self._implicit_caches: dict[str, RuntimeCache] = {}
        if runtime_settings is not None:
            self.runtime_settings = runtime_settings

    @property
    def serialized_engine(self) -> bytes:
        """The engine plan bytes."""
        return self._serialized_engine

    @property
    def spec(self) -> EngineSpec:
        """The engine's I/O description and build targets."""
        return self._spec

    @property
    def engine(self) -> PythonTRTEngine:
        """The runtime engine, created on first access with the module's runtime settings."""
        engine = self._engine
        if engine is not None:
            return engine
        with _SETTINGS_LOCK:
            if self._engine is None:
                from torchrtx.runtime.engine import PythonTRTEngine

                resolved = self._resolve(self._runtime_settings)
                self._engine = PythonTRTEngine(self._serialized_engine, self._spec, runtime_settings=resolved)
            return self._engine

    @property
    def runtime_settings(self) -> RuntimeSettings:
        """The settings in force, as they were given (a cache path stays a path)."""
        return self._runtime_settings

    @runtime_settings.setter
    def runtime_settings(self, settings: RuntimeSettings) -> None:
        """Apply ``settings`` now; the next call creates a new execution context only if a knob changed.

        A path in ``settings.runtime_cache`` becomes this module's own :class:`RuntimeCache` for that
        file: loaded from disk now, saved when the module is collected or the interpreter exits.
        """
        if not isinstance(settings, RuntimeSettings):
            raise TypeError(f"runtime_settings must be a RuntimeSettings, got {type(settings).__name__}")
        with _SETTINGS_LOCK:
            resolved = self._resolve(settings)
            if self._engine is not None:
                self._engine.update_runtime_settings(resolved)
            self._runtime_settings = settings

    def _resolve(self, settings: RuntimeSettings) -> RuntimeSettings:
        """``settings`` with a cache path replaced by this module's handle on that file."""
        spec = settings.runtime_cache
        if spec is None or isinstance(spec, RuntimeCache):
            return settings
        path = os.path.abspath(os.fspath(spec))
        cache = self._implicit_caches.get(path)
        if cache is None:
            is_default = is_default_cache_path(path)
            cache = _DEFAULT_CACHES.get(path) if is_default else None
            if cache is None:
                cache = RuntimeCache(path, autosave_on_del=True)
                cache.load()
                if is_default:
                    _DEFAULT_CACHES[path] = cache
            self._implicit_caches[path] = cache
        return settings.replace(runtime_cache=cache)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Run the engine on ``inputs`` (in the engine's input order) on the current CUDA stream.

        Returns a tensor, or a tuple when the compiled model returned several outputs. The first
        call deserializes the engine and checks the GPU; it raises :class:`~torchrtx.NoCUDADeviceError`,
        :class:`~torchrtx.UnsupportedGPUError` or :class:`~torchrtx.EngineCapabilityMismatchError`
        when the engine cannot run here. Bad inputs raise TypeError or ValueError naming the input.
        """
        outputs = self.engine.execute(inputs)
        if self._spec.returns_tuple:
            return tuple(outputs)
        return outputs[0]

    def describe(self) -> str:
        """A human-readable table of the engine's I/O, targets and size."""
        spec = self._spec
        lines = [
            f"TensorRT-RTX engine: {len(self._serialized_engine):,} bytes, "
            f"built with TensorRT-RTX {spec.trt_version}",
            f"compute capabilities: {', '.join(spec.compute_capabilities)}",
            "inputs:",
        ]
        for item in spec.inputs:
            lines.append(
                f"  {item.name:<16} {item.dtype:<9} min={_shape(item.min_shape)} "
                f"opt={_shape(item.opt_shape)} max={_shape(item.max_shape)}"
            )
        lines.append("outputs:")
        for item in spec.outputs:
            lines.append(f"  {item.name:<16} {item.dtype:<9} shape={_shape(item.shape)}")
        return "\n".join(lines)

    def extra_repr(self) -> str:
        names_in = ", ".join(i.name for i in self._spec.inputs)
        names_out = ", ".join(o.name for o in self._spec.outputs)
        caps = ",".join(self._spec.compute_capabilities)
        plan_bytes = len(self._serialized_engine)
        return f"inputs=[{names_in}], outputs=[{names_out}], capabilities=[{caps}], plan_bytes={plan_bytes}"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("?" if d < 0 else str(d) for d in shape) + ")"
