"""Settings changed from one thread while another runs forward: no crash, no mixed settings (rule 10)."""

from __future__ import annotations

import threading

import torch

from runtime_settings._helpers import rows
from torchrtx.runtime import RuntimeCache, RuntimeSettings


def test_flipping_settings_during_1000_forwards_never_mixes_them(make_module, double_control) -> None:
    module = make_module()
    cache = RuntimeCache()
    # Each set changes every knob at once, so a call that saw half of one and half of the other
    # would show up as a context with a combination that is neither.
    first = RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="eager",
                            cuda_graph_strategy="whole_graph_capture", runtime_cache=cache)
    second = RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="none",
                             cuda_graph_strategy="disabled", runtime_cache=None)
    module.runtime_settings = first
    stop = threading.Event()
    errors: list[BaseException] = []
    flips = 0

    def flipper() -> None:
        nonlocal flips
        try:
            while not stop.is_set():
                module.runtime_settings = second if flips % 2 == 0 else first
                flips += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=flipper)
    thread.start()
    try:
        for index in range(1000):
            n = 1 + index % 8
            torch.testing.assert_close(module(rows(n)), rows(n) * 2.0)
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert flips > 10
    backend_caches = {id(r.runtime_cache) for r in double_control.contexts if r.runtime_cache is not None}
    assert len(backend_caches) == 1, "every context with a cache got the one shared backend cache"
    seen = {(r.kernel_strategy, r.cuda_graph_strategy, r.runtime_cache is not None)
            for r in double_control.contexts}
    assert seen == {("eager", "whole_graph_capture", True), ("none", "disabled", False)}
    executed_contexts = {e.context_index for e in double_control.executions}
    assert len(double_control.executions) == 1000
    assert executed_contexts <= set(range(double_control.contexts_created))
