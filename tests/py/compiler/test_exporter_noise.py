"""compile() keeps torch's ONNX exporter chatter out of the console, and only while it exports."""

from __future__ import annotations

import logging
import sys
import threading
import warnings

import pytest
import torch

import torchrtx
from torchrtx.compiler.exporter_noise import quiet_exporter

_REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"
_LEAFSPEC_TEXT = "`isinstance(treespec, LeafSpec)` is deprecated, use something else"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def registry_log_records():
    """Records the exporter's registry logger lets through (a logger's filters run before its handlers)."""
    handler = _Records()
    logger = logging.getLogger(_REGISTRY_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def _leafspec_warning_is_shown() -> bool:
    with warnings.catch_warnings(record=True) as caught:
        # Appended, so the filters in force (quiet_exporter's among them) decide first.
        warnings.simplefilter("always", append=True)
        warnings.warn(_LEAFSPEC_TEXT, FutureWarning, stacklevel=1)
    return bool(caught)


def test_compile_emits_no_warnings_and_no_exporter_log_lines(registry_log_records):
    filters_before = list(warnings.filters)
    registry_filters_before = list(logging.getLogger(_REGISTRY_LOGGER).filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torchrtx.compile(torch.nn.Linear(4, 2), [torchrtx.Input(shape=(3, 4))], compute_capabilities=["sm89"])
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert [r.getMessage() for r in registry_log_records] == []
    # The torchvision lines come from this logger; if torch moves them, this test must follow.
    assert sys.modules[_REGISTRY_LOGGER].logger.name == _REGISTRY_LOGGER
    assert warnings.filters == filters_before
    assert logging.getLogger(_REGISTRY_LOGGER).filters == registry_filters_before


def test_silencing_ends_with_the_block(registry_log_records):
    with quiet_exporter():
        logging.getLogger(_REGISTRY_LOGGER).warning("torchvision is not installed. Skipping x::y")
        assert not _leafspec_warning_is_shown()
    assert registry_log_records == []
    logging.getLogger(_REGISTRY_LOGGER).warning("torchvision is not installed. Skipping x::y")
    assert [r.getMessage() for r in registry_log_records] == ["torchvision is not installed. Skipping x::y"]
    assert _leafspec_warning_is_shown()


def test_other_messages_on_the_exporter_logger_still_show(registry_log_records):
    with quiet_exporter():
        logging.getLogger(_REGISTRY_LOGGER).warning("something the user should see")
    assert [r.getMessage() for r in registry_log_records] == ["something the user should see"]


def test_user_filters_added_inside_the_block_survive_it():
    with warnings.catch_warnings():
        with quiet_exporter():
            warnings.filterwarnings("ignore", message="user filter")
            user_entry = warnings.filters[0]
        assert warnings.filters[0] is user_entry
        assert not any(entry[1] is not None and "LeafSpec" in entry[1].pattern for entry in warnings.filters)


def test_one_thread_finishing_keeps_another_threads_export_quiet():
    first_inside, second_done, first_checked = threading.Event(), threading.Event(), threading.Event()
    observed: dict[str, bool] = {}

    def first() -> None:
        with quiet_exporter():
            first_inside.set()
            second_done.wait(10)
            observed["quiet while first still exports"] = not _leafspec_warning_is_shown()
        first_checked.set()

    def second() -> None:
        first_inside.wait(10)
        with quiet_exporter():
            pass
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert first_checked.is_set()
    assert observed == {"quiet while first still exports": True}
    assert _leafspec_warning_is_shown()


class _NeedsFourRows(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(4, 4)


def test_a_failed_export_restores_the_filters():
    filters_before = list(warnings.filters)
    dynamic_batch = torchrtx.Input(min_shape=(1, 4), opt_shape=(4, 4), max_shape=(8, 4))
    with pytest.raises(torchrtx.CompileError, match="could not trace"):
        torchrtx.compile(_NeedsFourRows(), [dynamic_batch])
    assert warnings.filters == filters_before
    assert logging.getLogger(_REGISTRY_LOGGER).filters == []
    assert _leafspec_warning_is_shown()
