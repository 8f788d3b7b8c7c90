"""Keep the ONNX exporter's irrelevant chatter out of the user's console during an export.

torch's dynamo ONNX exporter logs "torchvision is not installed. Skipping torchvision::nms"
(and three more ops) on every export, and an internal deep copy raises a FutureWarning about
``LeafSpec``. Neither concerns TensorRT-RTX or anything the user can change, so
:func:`quiet_exporter` drops exactly those messages while an export runs and removes its
filters afterwards. Nested and concurrent exports share one installation (reference counted),
so one thread finishing never un-silences another thread's export.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator

__all__ = ["quiet_exporter"]

#: The logger torch's exporter registry reports skipped torchvision ops on.
_REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"
#: Start of the deprecation text torch's pytree raises from the exporter's deep copy.
_LEAFSPEC_WARNING = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


class _DropTorchvisionSkips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("torchvision is not installed")


_filter = _DropTorchvisionSkips()
_lock = threading.Lock()
_active = 0
_warning_entry: tuple | None = None


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the exporter's torchvision log lines and LeafSpec FutureWarning inside the block."""
    _enter()
    try:
        yield
    finally:
        _exit()


def _enter() -> None:
    global _active, _warning_entry
    with _lock:
        _active += 1
        if _active > 1:
            return
        logging.getLogger(_REGISTRY_LOGGER).addFilter(_filter)
        warnings.filterwarnings("ignore", message=_LEAFSPEC_WARNING, category=FutureWarning)
        _warning_entry = warnings.filters[0]


def _exit() -> None:
    global _active, _warning_entry
    with _lock:
        _active -= 1
        if _active:
            return
        logging.getLogger(_REGISTRY_LOGGER).removeFilter(_filter)
        # Remove only our own entry: filters the user added meanwhile stay in place.
        with contextlib.suppress(ValueError):
            warnings.filters.remove(_warning_entry)
        _warning_entry = None
        # Let cached warning decisions be looked up again now that the filter list changed.
        getattr(warnings, "_filters_mutated", lambda: None)()
