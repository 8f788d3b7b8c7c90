"""enable_cudagraphs on CPU CI: settings order, context counts, eager fallback, errors, restore."""

from __future__ import annotations

import logging

import pytest
import torch

from support.containers import Pair
from support.double_plans import synthetic_module
from support.trt_double import control_of
from torchrtx._spec import InputSpec
from torchrtx.runtime import CUDAGraphWrapper, TRTModule, enable_cudagraphs, runtime_config

X = InputSpec("x", "float32", (1, 4), (2, 4), (8, 4))
LOGGER = "torchrtx.runtime.cudagraphs"


def _module(scale: float = 3.0) -> TRTModule:
    return synthetic_module(lambda x: x * scale + 1, [X])


def _knobs(records) -> list[tuple[str | None, str | None]]:
    return [(record.kernel_strategy, record.cuda_graph_strategy) for record in records]


def _eager_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    return [m for m in messages if "running eagerly" in m]


def test_strategy_reaches_each_engine_before_its_only_context(double_backend, double_control) -> None:
    pair = Pair(_module(3.0), _module(0.5))
    x = torch.randn(2, 4)
    with enable_cudagraphs(pair, cuda_graph_strategy="whole_graph_capture") as wrapped:
        assert double_control.contexts_created == 0
        for _ in range(3):
            torch.testing.assert_close(wrapped(x), (x * 3 + 1) * 0.5 + 1)
    assert pair.first.engine.contexts_created == 1 and pair.second.engine.contexts_created == 1
    assert _knobs(double_control.contexts) == [("lazy", "whole_graph_capture")] * 2
    assert {r.plan_id for r in double_control.contexts} == {r.plan_id for r in double_control.executions}


def test_outer_runtime_config_then_enable_cudagraphs_is_one_context(double_backend, double_control) -> None:
    module = _module()
    with (
        runtime_config(module, dynamic_shapes_kernel_specialization_strategy="eager") as configured,
        enable_cudagraphs(configured, cuda_graph_strategy="whole_graph_capture") as wrapped,
    ):
        wrapped(torch.ones(2, 4))
        wrapped(torch.ones(2, 4))
    assert _knobs(double_control.contexts) == [("eager", "whole_graph_capture")]


def test_settings_flipped_inside_the_block_cost_a_second_context(double_backend, double_control) -> None:
    module = _module()
    with enable_cudagraphs(module, cuda_graph_strategy="whole_graph_capture") as wrapped:
        wrapped(torch.ones(2, 4))
        with runtime_config(module, dynamic_shapes_kernel_specialization_strategy="eager"):
            wrapped(torch.ones(2, 4))
    assert _knobs(double_control.contexts) == [
        ("lazy", "whole_graph_capture"),
        ("eager", "whole_graph_capture"),
    ]


def test_lazy_kernel_strategy_runs_eagerly_and_says_why_once(double_backend, double_control, caplog) -> None:
    pair = Pair(_module(2.0), _module(5.0))
    with runtime_config(pair.first, dynamic_shapes_kernel_specialization_strategy="eager"):
        with caplog.at_level(logging.WARNING, logger=LOGGER), enable_cudagraphs(pair) as wrapped:
            for batch in (2, 2, 5):
                x = torch.randn(batch, 4)
                torch.testing.assert_close(wrapped(x), (x * 2 + 1) * 5 + 1)
            reason = wrapped.eager_reason
            assert wrapped.num_captures == 0 and wrapped.num_graphs == 0
    assert reason is not None and "'lazy'" in reason and "second" in reason and "first" not in reason
    messages = _eager_messages(caplog)
    assert len(messages) == 1 and "'lazy'" in messages[0]
    assert len(double_control.executions) == 6  # every call ran both engines eagerly


def test_cpu_inputs_run_eagerly_with_the_reason_logged_once(double_backend, caplog) -> None:
    module = _module()
    with (
        runtime_config(module, dynamic_shapes_kernel_specialization_strategy="none"),
        caplog.at_level(logging.WARNING, logger=LOGGER),
        enable_cudagraphs(module) as wrapped,
    ):
        for _ in range(3):
            torch.testing.assert_close(wrapped(torch.ones(2, 4)), torch.full((2, 4), 4.0))
        reason = wrapped.eager_reason
    assert reason is not None and "not CUDA tensors" in reason and "lazy" not in reason
    assert len(_eager_messages(caplog)) == 1


def test_standard_tensorrt_rejects_the_strategy_before_anything_changes(standard_trt_backend) -> None:
    control = control_of(standard_trt_backend)
    module = _module()
    before = module.runtime_settings
    for strategy in ("whole_graph_capture", "disabled"):
        with pytest.raises(RuntimeError, match="TensorRT-RTX setting.*'tensorrt'"):
            with enable_cudagraphs(module, cuda_graph_strategy=strategy):
                pytest.fail("the block must not run")
    assert module.runtime_settings is before
    assert control.deserialized == [] and control.contexts_created == 0


def test_standard_tensorrt_without_a_strategy_runs_and_ignores_kernel_strategy(standard_trt_backend) -> None:
    module = _module()
    with enable_cudagraphs(module) as wrapped:
        torch.testing.assert_close(wrapped(torch.ones(3, 4)), torch.full((3, 4), 4.0))
        reason = wrapped.eager_reason
    # The default "lazy" kernel strategy means nothing on standard TensorRT: only CPU inputs block capture.
    assert reason is not None and "not CUDA tensors" in reason


def test_bad_strategy_value_raises_before_anything_changes(double_backend, double_control) -> None:
    module = _module()
    before = module.runtime_settings
    with pytest.raises(ValueError, match="'disabled', 'whole_graph_capture'.*'whole_graph'"):
        with enable_cudagraphs(module, cuda_graph_strategy="whole_graph"):
            pytest.fail("the block must not run")
    assert module.runtime_settings is before and double_control.contexts_created == 0


def test_exception_in_block_restores_every_engine_and_closes_the_wrapper(double_backend) -> None:
    pair = Pair(_module(), _module())
    before = (pair.first.runtime_settings, pair.second.runtime_settings)
    with pytest.raises(KeyError, match="boom"):
        with enable_cudagraphs(pair, cuda_graph_strategy="whole_graph_capture") as wrapped:
            wrapped(torch.ones(2, 4))
            assert pair.first.runtime_settings.cuda_graph_strategy == "whole_graph_capture"
            raise KeyError("boom")
    assert (pair.first.runtime_settings, pair.second.runtime_settings) == before
    assert pair.first.runtime_settings is before[0] and pair.second.runtime_settings is before[1]
    assert pair.first.engine.runtime_settings.cuda_graph_strategy == "disabled"
    assert wrapped.closed
    with pytest.raises(RuntimeError, match="after its `with` block exited"):
        wrapped(torch.ones(2, 4))


def test_engine_error_inside_the_wrapper_still_restores(double_backend) -> None:
    module = _module()
    before = module.runtime_settings
    with pytest.raises(ValueError, match="outside the engine's profile"):
        with enable_cudagraphs(module, cuda_graph_strategy="whole_graph_capture") as wrapped:
            wrapped(torch.ones(9, 4))
    assert module.runtime_settings is before


def test_wrapper_after_normal_exit_raises_and_runs_nothing(double_backend, double_control) -> None:
    module = _module()
    with enable_cudagraphs(module) as wrapped:
        wrapped(torch.ones(2, 4))
    executions = len(double_control.executions)
    with pytest.raises(RuntimeError, match="after its `with` block exited"):
        wrapped(torch.ones(2, 4))
    assert len(double_control.executions) == executions
    torch.testing.assert_close(module(torch.ones(2, 4)), torch.full((2, 4), 4.0))


def test_nested_blocks_restore_in_reverse_order(double_backend) -> None:
    module = _module()
    original = module.runtime_settings
    with enable_cudagraphs(module, cuda_graph_strategy="whole_graph_capture"):
        outer = module.runtime_settings
        with enable_cudagraphs(module, cuda_graph_strategy="disabled"):
            assert module.runtime_settings.cuda_graph_strategy == "disabled"
        assert module.runtime_settings is outer
        assert outer.cuda_graph_strategy == "whole_graph_capture"
    assert module.runtime_settings is original


@pytest.mark.parametrize("make_target", [list, tuple])
def test_list_target_yields_one_wrapper_per_element_in_order(double_backend, double_control, make_target):
    first, second = _module(2.0), _module(-1.0)
    target = make_target([first, second])
    with enable_cudagraphs(target, cuda_graph_strategy="whole_graph_capture") as wrapped:
        assert isinstance(wrapped, tuple) and len(wrapped) == 2
        assert all(isinstance(w, CUDAGraphWrapper) for w in wrapped)
        assert wrapped[0].module is first and wrapped[1].module is second
        x = torch.randn(4, 4)
        torch.testing.assert_close(wrapped[0](x), x * 2 + 1)
        torch.testing.assert_close(wrapped[1](x), -x + 1)
    assert _knobs(double_control.contexts) == [("lazy", "whole_graph_capture")] * 2
    assert all(w.closed for w in wrapped)


def test_non_tensor_argument_raises_type_error_before_running(double_backend, double_control) -> None:
    module = _module()
    with enable_cudagraphs(module) as wrapped:
        with pytest.raises(TypeError, match="tensors only; argument 1 is int"):
            wrapped(torch.ones(2, 4), 3)
    assert double_control.executions == []


def test_bad_targets_and_limits_are_rejected(double_backend) -> None:
    with pytest.raises(ValueError, match="holds no TRTModule"):
        with enable_cudagraphs(torch.nn.Linear(4, 4)):
            pass
    with pytest.raises(ValueError, match="at least one target"):
        with enable_cudagraphs([]):
            pass
    with pytest.raises(TypeError, match="got str"):
        with enable_cudagraphs("model"):
            pass
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_graphs must be a positive int"):
            with enable_cudagraphs(_module(), max_graphs=bad):
                pass
