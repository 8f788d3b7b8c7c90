"""Lazy execution context, runtime settings and the TRTRuntimeConfig shim, observed through the double."""

from __future__ import annotations

import io
import logging
import threading
import warnings

import pytest
import torch

from support import trt_double
from support.double_plans import synthetic_module
from support.trt_double import cache_kernels, control_of
from torchrtx._spec import InputSpec
from torchrtx.runtime import engine as engine_module
from torchrtx.runtime.cache import RuntimeCache
from torchrtx.runtime.engine import PythonTRTEngine
from torchrtx.runtime.settings import RuntimeSettings

X = InputSpec("x", "float32", (1, 4), (2, 4), (8, 4))
NO_CACHE = RuntimeSettings(runtime_cache=None)


def _engine(**settings: object) -> PythonTRTEngine:
    module = synthetic_module(lambda x: x * 3, [X])
    initial = NO_CACHE.replace(**settings) if settings else None
    return PythonTRTEngine(module.serialized_engine, module.spec, runtime_settings=initial)


class CountingCache(RuntimeCache):
    """The real RuntimeCache facade, counting how often engines ask it for the backend cache."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def ensure_materialized(self, runtime_config: object) -> object:
        self.calls += 1
        return super().ensure_materialized(runtime_config)


def test_no_context_until_first_execute(double_backend, double_control) -> None:
    engine = _engine()
    assert not engine.has_context() and engine.contexts_created == 0
    assert double_control.deserialized == [] and double_control.contexts_created == 0
    engine.execute([torch.ones(2, 4)])
    assert engine.has_context() and engine.contexts_created == 1 == double_control.contexts_created


def test_one_context_for_a_sequence_of_calls(double_backend, double_control) -> None:
    engine = _engine()
    for batch in (1, 2, 8, 3, 3):
        engine.execute([torch.ones(batch, 4)])
    assert engine.contexts_created == 1 == double_control.contexts_created
    assert {record.context_index for record in double_control.executions} == {0}


def test_invalidate_makes_exactly_one_new_context(double_backend, double_control) -> None:
    engine = _engine()
    engine.execute([torch.ones(2, 4)])
    engine.invalidate_context()
    assert not engine.has_context() and double_control.contexts_created == 1
    engine.execute([torch.ones(2, 4)])
    engine.execute([torch.ones(5, 4)])
    assert engine.contexts_created == 2 == double_control.contexts_created
    assert [record.context_index for record in double_control.executions] == [0, 1, 1]


def test_settings_before_first_call_give_one_context_with_those_knobs(double_backend, double_control) -> None:
    engine = _engine()
    engine.update_runtime_settings(NO_CACHE.replace(dynamic_shapes_kernel_specialization_strategy="eager"))
    engine.update_runtime_settings(
        NO_CACHE.replace(
            dynamic_shapes_kernel_specialization_strategy="none", cuda_graph_strategy="whole_graph_capture"
        )
    )
    engine.execute([torch.ones(2, 4)])
    assert engine.contexts_created == 1
    (record,) = double_control.contexts
    assert (record.kernel_strategy, record.cuda_graph_strategy) == ("none", "whole_graph_capture")


def test_changed_setting_recreates_once_equal_settings_do_nothing(double_backend, double_control) -> None:
    engine = _engine()
    engine.execute([torch.ones(2, 4)])
    eager = NO_CACHE.replace(dynamic_shapes_kernel_specialization_strategy="eager")
    engine.update_runtime_settings(eager)
    assert not engine.has_context()
    engine.execute([torch.ones(2, 4)])
    engine.update_runtime_settings(NO_CACHE.replace(dynamic_shapes_kernel_specialization_strategy="eager"))
    assert engine.has_context()
    engine.execute([torch.ones(2, 4)])
    assert engine.contexts_created == 2 == double_control.contexts_created
    assert [r.kernel_strategy for r in double_control.contexts] == ["lazy", "eager"]
    assert engine.runtime_settings is eager


def test_runtime_config_is_created_once_per_engine(double_backend) -> None:
    engine = _engine()
    engine.execute([torch.ones(2, 4)])
    config = engine.runtime_config_shim.runtime_config
    engine.update_runtime_settings(NO_CACHE.replace(cuda_graph_strategy="whole_graph_capture"))
    engine.execute([torch.ones(2, 4)])
    assert engine.runtime_config_shim.runtime_config is config
    assert config.cuda_graph_strategy is double_backend.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE


def test_cache_object_attached_at_context_creation_and_shared(double_backend, double_control) -> None:
    cache = CountingCache()
    first, second = _engine(runtime_cache=cache), _engine(runtime_cache=cache)
    first.execute([torch.ones(2, 4)])
    second.execute([torch.ones(3, 4)])
    assert cache.calls == 2
    backend_cache = first.runtime_config_shim.runtime_config.get_runtime_cache()
    assert backend_cache is second.runtime_config_shim.runtime_config.get_runtime_cache()
    assert [r.runtime_cache for r in double_control.contexts] == [backend_cache] * 2
    assert len(cache_kernels(backend_cache)) == 2


def test_detaching_the_cache_recreates_without_one(double_backend, double_control) -> None:
    engine = _engine(runtime_cache=CountingCache())
    engine.execute([torch.ones(2, 4)])
    engine.update_runtime_settings(NO_CACHE)
    engine.execute([torch.ones(2, 4)])
    assert double_control.contexts[0].runtime_cache is not None
    assert double_control.contexts[1].runtime_cache is None


def test_real_runtime_cache_facade_round_trips_kernels(double_backend) -> None:
    cache = RuntimeCache()
    engine = _engine(runtime_cache=cache)
    engine.execute([torch.ones(2, 4)])
    engine.execute([torch.ones(6, 4)])
    saved = io.BytesIO()
    cache.save_to_stream(saved)
    restored = RuntimeCache()
    restored.load_from_stream(io.BytesIO(saved.getvalue()))
    other = _engine(runtime_cache=restored)
    other.execute([torch.ones(1, 4)])
    backend_cache = other.runtime_config_shim.runtime_config.get_runtime_cache()
    assert len(cache_kernels(backend_cache)) == 3


def test_engine_rejects_unresolved_cache_path(double_backend) -> None:
    engine = _engine()
    with pytest.raises(TypeError, match="runtime_cache=None or a RuntimeCache"):
        engine.update_runtime_settings(RuntimeSettings(runtime_cache="/tmp/x.bin"))
    assert engine.runtime_settings == NO_CACHE


def test_standard_tensorrt_warns_once_and_changes_nothing(standard_trt_backend) -> None:
    control = control_of(standard_trt_backend)
    engine = _engine()
    engine.execute([torch.ones(2, 4)])
    with pytest.warns(UserWarning, match="need TensorRT-RTX") as caught:
        engine.update_runtime_settings(NO_CACHE.replace(cuda_graph_strategy="whole_graph_capture"))
    assert len(caught) == 1
    engine.execute([torch.ones(2, 4)])
    assert engine.contexts_created == 1 == control.contexts_created
    assert (control.contexts[0].kernel_strategy, control.contexts[0].cuda_graph_strategy) == (None, None)


def test_standard_tensorrt_warns_for_initial_settings_too(standard_trt_backend) -> None:
    control = control_of(standard_trt_backend)
    with pytest.warns(UserWarning, match="need TensorRT-RTX") as caught:
        engine = _engine(dynamic_shapes_kernel_specialization_strategy="eager")
    assert len(caught) == 1
    engine.execute([torch.ones(2, 4)])
    assert [(r.kernel_strategy, r.cuda_graph_strategy) for r in control.contexts] == [(None, None)]


def test_standard_tensorrt_with_runtime_configs_still_gets_no_knobs(standard_trt_backend, monkeypatch):
    # Newer standard TensorRT engines offer create_runtime_config too; only TensorRT-RTX gets the knobs.
    monkeypatch.setattr(standard_trt_backend.Runtime, "_engine_type", trt_double.ICudaEngine)
    with pytest.warns(UserWarning, match="need TensorRT-RTX"):
        engine = _engine(cuda_graph_strategy="whole_graph_capture")
    engine.execute([torch.ones(2, 4)])
    assert engine.runtime_config_shim.runtime_config is None
    (record,) = control_of(standard_trt_backend).contexts
    assert (record.kernel_strategy, record.cuda_graph_strategy) == (None, None)


def test_standard_tensorrt_default_settings_are_silent(standard_trt_backend) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine = _engine(cuda_graph_strategy="disabled")
        torch.testing.assert_close(engine.execute([torch.ones(2, 4)])[0], torch.full((2, 4), 3.0))


def test_is_capturable_needs_capturable_stream_and_non_lazy_kernels(double_backend, double_control) -> None:
    class _Stream:
        cuda_stream = 1234

    engine = _engine()
    assert engine.is_capturable(_Stream()) is False
    engine.update_runtime_settings(NO_CACHE.replace(dynamic_shapes_kernel_specialization_strategy="eager"))
    assert engine.is_capturable(_Stream()) is True
    double_control.stream_capturable = False
    assert engine.is_capturable(_Stream()) is False


def test_outer_capture_turns_native_capture_off_once(
    double_backend, double_control, monkeypatch, caplog
) -> None:
    engine = _engine(cuda_graph_strategy="whole_graph_capture")
    engine.execute([torch.ones(2, 4)])
    monkeypatch.setattr(engine_module, "_outer_capture_in_progress", lambda device: True)
    with caplog.at_level(logging.INFO, logger="torchrtx"):
        for _ in range(3):
            engine.execute([torch.ones(2, 4)])
    assert engine.native_capture_suppressed
    assert [r.cuda_graph_strategy for r in double_control.contexts] == ["whole_graph_capture", "disabled"]
    assert sum("whole-graph capture off" in r.getMessage() for r in caplog.records) == 1
    assert engine.runtime_settings.cuda_graph_strategy == "whole_graph_capture"


def test_a_settings_change_gives_native_capture_back(double_backend, double_control, monkeypatch) -> None:
    engine = _engine(cuda_graph_strategy="whole_graph_capture")
    capturing = True
    monkeypatch.setattr(engine_module, "_outer_capture_in_progress", lambda device: capturing)
    engine.execute([torch.ones(2, 4)])
    assert engine.native_capture_suppressed
    capturing = False
    engine.update_runtime_settings(
        NO_CACHE.replace(
            cuda_graph_strategy="whole_graph_capture", dynamic_shapes_kernel_specialization_strategy="none"
        )
    )
    assert not engine.native_capture_suppressed
    engine.execute([torch.ones(2, 4)])
    assert [r.cuda_graph_strategy for r in double_control.contexts] == ["disabled", "whole_graph_capture"]


def test_settings_change_never_mixes_into_a_running_call(double_backend, double_control) -> None:
    gate = threading.Event()
    release = threading.Event()

    def slow(x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "meta":  # shape inference runs on meta tensors; only the real run blocks
            gate.set()
            release.wait(5)
        return x + 1

    module = synthetic_module(slow, [X])
    engine = PythonTRTEngine(module.serialized_engine, module.spec, runtime_settings=NO_CACHE)
    results: list[torch.Tensor] = []
    worker = threading.Thread(target=lambda: results.extend(engine.execute([torch.ones(2, 4)])))
    worker.start()
    assert gate.wait(5)
    updater = threading.Thread(
        target=engine.update_runtime_settings,
        args=(NO_CACHE.replace(dynamic_shapes_kernel_specialization_strategy="eager"),),
    )
    updater.start()
    updater.join(0.2)
    assert updater.is_alive(), "update must wait for the running call"
    assert engine.runtime_settings == NO_CACHE
    release.set()
    worker.join(5)
    updater.join(5)
    torch.testing.assert_close(results[0], torch.full((2, 4), 2.0))
    assert (
        not engine.has_context()
        and engine.runtime_settings.dynamic_shapes_kernel_specialization_strategy == "eager"
    )
    engine.execute([torch.ones(2, 4)])
    assert [r.kernel_strategy for r in double_control.contexts] == ["lazy", "eager"]


def test_execute_runs_on_the_engine_device(double_backend, monkeypatch) -> None:
    seen: list[object] = []
    real = engine_module.current_cuda_device
    monkeypatch.setattr(engine_module, "current_cuda_device", lambda index: seen.append(index) or real(index))
    module = synthetic_module(torch.relu, [InputSpec("x", "float32", (1, 4), (2, 4), (4, 4))])
    module(torch.randn(2, 4))
    module(torch.randn(3, 4))
    # Once to deserialize the plan, then once per call; the CPU double has no CUDA device, so every
    # request is "no device switch".
    assert seen == [None, None, None]


def test_work_goes_to_the_engine_device_whichever_device_is_current(monkeypatch) -> None:
    entered: list[int] = []

    class _Recorder:
        def __init__(self, index: int) -> None:
            self.index = index

        def __enter__(self) -> None:
            entered.append(self.index)

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(torch.cuda, "device", _Recorder)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    with engine_module.current_cuda_device(0):
        pass
    with engine_module.current_cuda_device(1):
        pass
    with engine_module.current_cuda_device(None):
        pass
    assert entered == [0]
