"""The one TensorRT logger torchrtx hands to every builder, parser and runtime of a backend.

TensorRT keeps the first logger a process gives it and ignores later ones, so a
logger per call would silently lose messages. Messages go to the ``torchrtx.tensorrt``
Python logger; while :func:`collect_errors` is active, errors are collected instead and
logged at DEBUG only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["collect_errors", "trt_logger"]

_log = logging.getLogger("torchrtx.tensorrt")
_lock = threading.Lock()
# Keyed by module object: a test double gets its own logger, the real backend keeps one for the process.
_loggers: dict[ModuleType, Any] = {}
# Collecting is process-wide, so only one collector runs at a time.
_collect_lock = threading.Lock()


def trt_logger(trt: ModuleType) -> Any:
    """Return the process-wide ``ILogger`` for the backend module ``trt``, creating it once."""
    with _lock:
        logger = _loggers.get(trt)
        if logger is None:
            logger = _loggers[trt] = _make_forwarding_logger(trt)
        return logger


@contextlib.contextmanager
def collect_errors(trt: ModuleType) -> Iterator[list[str]]:
    """Collect the error messages ``trt`` logs inside the block (one collector at a time)."""
    logger = trt_logger(trt)
    with _collect_lock:
        logger.errors = []
        try:
            yield logger.errors
        finally:
            logger.errors = None


def _make_forwarding_logger(trt: ModuleType) -> Any:
    severity = trt.ILogger.Severity
    levels = {
        severity.INTERNAL_ERROR: logging.ERROR,
        severity.ERROR: logging.ERROR,
        severity.WARNING: logging.WARNING,
        severity.INFO: logging.DEBUG,
        severity.VERBOSE: logging.DEBUG,
    }

    class _ForwardingLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] | None = None

        def log(self, severity: Any, msg: str) -> None:
            python_level = levels.get(severity, logging.DEBUG)
            if python_level >= logging.ERROR and self.errors is not None:
                # The collector raises these in its own exception; logging them as errors too
                # would print them twice to a user with no logging configured.
                self.errors.append(msg)
                python_level = logging.DEBUG
            _log.log(python_level, "%s", msg)

    return _ForwardingLogger()
