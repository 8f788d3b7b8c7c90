"""enable_cudagraphs on a CUDA GPU: real torch graph capture and replay around the double's engines.

The TensorRT-RTX runtime double runs each engine's reference function as real CUDA kernels on the
stream the engine passes, so these tests exercise torch.cuda.graph for real; TensorRT-RTX itself
is not involved (results here are not TensorRT-RTX hardware results).
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
import torch

from support.containers import Pair
from support.double_plans import synthetic_module
from support.trt_double import control_of
from torchrtx._spec import InputSpec
from torchrtx.runtime import TRTModule, enable_cudagraphs, runtime_config

pytestmark = pytest.mark.cuda

X = InputSpec("x", "float32", (1, 16), (4, 16), (32, 16))
CAPTURABLE = {"dynamic_shapes_kernel_specialization_strategy": "eager"}


def _scale_shift(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x) * 2 + 1


def _squash(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x) - 0.5


def _module(fn=_scale_shift) -> TRTModule:
    return synthetic_module(fn, [X])


def _x(batch: int = 4) -> torch.Tensor:
    return torch.randn(batch, 16, device="cuda")


@pytest.fixture
def control(cuda_double_backend):
    return control_of(cuda_double_backend)


def test_replays_equal_eager_outputs_on_fresh_inputs(control) -> None:
    module = _module()
    with runtime_config(module, **CAPTURABLE), enable_cudagraphs(module) as wrapped:
        x = _x()
        results = [(x, wrapped(x))]
        executions_after_capture = len(control.executions)
        for _ in range(5):
            x = _x()
            results.append((x, wrapped(x)))
            assert wrapped.eager_reason is None
        assert len(control.executions) == executions_after_capture  # replays run no engine code
        assert wrapped.num_captures == 1
        # Clones: no returned tensor shares memory with another or was overwritten by later replays.
        assert len({out.data_ptr() for _, out in results}) == len(results)
        for x, out in results:
            torch.testing.assert_close(out, module(x))
            torch.testing.assert_close(out, _scale_shift(x))


def test_replay_runs_on_the_callers_stream(control) -> None:
    module = _module()
    with runtime_config(module, **CAPTURABLE), enable_cudagraphs(module) as wrapped:
        wrapped(_x())
        stream = torch.cuda.Stream()
        x = _x()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            out = wrapped(x)
        stream.synchronize()
        torch.testing.assert_close(out, _scale_shift(x))


def test_tuple_outputs_come_back_as_a_tuple_of_clones(control) -> None:
    module = synthetic_module(lambda x: (x + 1, x.sum(dim=-1)), [X])
    with runtime_config(module, **CAPTURABLE), enable_cudagraphs(module) as wrapped:
        first_x, second_x = _x(), _x()
        first = wrapped(first_x)
        second = wrapped(second_x)
        assert isinstance(first, tuple) and len(first) == 2 and wrapped.num_captures == 1
        torch.testing.assert_close(first[0], first_x + 1)
        torch.testing.assert_close(first[1], first_x.sum(dim=-1))
        torch.testing.assert_close(second[1], second_x.sum(dim=-1))


def test_new_input_shapes_capture_again_and_the_oldest_graph_is_evicted(control) -> None:
    module = _module()
    # max_graphs=2: LRU order after each call is shown on the right.
    plan = [(2, 1), (2, 1), (4, 2), (2, 2), (8, 3), (2, 3), (4, 4), (8, 5)]
    #       [2]     [2]     [2,4]   [4,2]   [2,8]   [8,2]   [2,4]   [4,8]
    with runtime_config(module, **CAPTURABLE), enable_cudagraphs(module, max_graphs=2) as wrapped:
        for batch, captures in plan:
            x = _x(batch)
            torch.testing.assert_close(wrapped(x), _scale_shift(x))
            assert (wrapped.num_captures, wrapped.eager_reason) == (captures, None), f"batch {batch}"
            assert wrapped.num_graphs == min(captures, 2)
    assert module.engine.contexts_created == 1


def test_two_engines_in_one_container_are_captured_in_one_graph(control) -> None:
    pair = Pair(_module(_scale_shift), _module(_squash))
    with runtime_config(pair, **CAPTURABLE), enable_cudagraphs(pair) as wrapped:
        x = _x()
        torch.testing.assert_close(wrapped(x), _squash(_scale_shift(x)))
        per_plan = Counter(record.plan_id for record in control.executions)
        assert len(per_plan) == 2
        for _ in range(3):
            x = _x()
            torch.testing.assert_close(wrapped(x), _squash(_scale_shift(x)))
        assert Counter(record.plan_id for record in control.executions) == per_plan
        assert (wrapped.num_captures, wrapped.num_graphs) == (1, 1)
    assert pair.first.engine.contexts_created == 1 and pair.second.engine.contexts_created == 1


def test_native_capture_yields_to_the_outer_capture_once(control, caplog) -> None:
    module = _module()
    with (
        caplog.at_level(logging.INFO, logger="torchrtx"),
        runtime_config(module, **CAPTURABLE) as configured,
        enable_cudagraphs(configured, cuda_graph_strategy="whole_graph_capture") as wrapped,
    ):
        x = _x(4)
        torch.testing.assert_close(wrapped(x), _scale_shift(x))
        # The yield happened during the first capture; the kept graph was re-recorded after warming up
        # the new context, so that context ran more than the one (cold) captured call.
        new_context = module.engine.contexts_created - 1
        assert sum(r.context_index == new_context for r in control.executions) > 1
        for batch in (4, 8, 8):
            x = _x(batch)
            torch.testing.assert_close(wrapped(x), _scale_shift(x))
        assert wrapped.eager_reason is None and wrapped.num_captures == 2
        assert module.engine.native_capture_suppressed
    knobs = [(r.kernel_strategy, r.cuda_graph_strategy) for r in control.contexts]
    assert knobs == [("eager", "whole_graph_capture"), ("eager", "disabled")]
    assert sum("whole-graph capture off" in r.getMessage() for r in caplog.records) == 1
    assert module.runtime_settings.cuda_graph_strategy == "disabled"


def test_lazy_kernels_on_cuda_run_eagerly(control, caplog) -> None:
    module = _module()
    with (
        caplog.at_level(logging.WARNING, logger="torchrtx.runtime.cudagraphs"),
        enable_cudagraphs(module) as wrapped,
    ):
        for _ in range(3):
            x = _x()
            torch.testing.assert_close(wrapped(x), _scale_shift(x))
        assert "'lazy'" in wrapped.eager_reason and wrapped.num_captures == 0
    assert len(control.executions) == 3
    assert sum("running eagerly" in r.getMessage() for r in caplog.records) == 1


def test_stream_the_context_cannot_capture_runs_eagerly(control) -> None:
    module = _module()
    control.stream_capturable = False
    with runtime_config(module, **CAPTURABLE), enable_cudagraphs(module) as wrapped:
        for _ in range(3):
            x = _x()
            torch.testing.assert_close(wrapped(x), _scale_shift(x))
        assert "not capturable" in wrapped.eager_reason and wrapped.num_captures == 0
    assert len(control.executions) == 3 and module.engine.contexts_created == 1


def test_settings_changed_inside_drop_the_graphs_and_capture_again(control, caplog) -> None:
    module = _module()
    with (
        caplog.at_level(logging.WARNING, logger="torchrtx.runtime.cudagraphs"),
        runtime_config(module, **CAPTURABLE),
        enable_cudagraphs(module) as wrapped,
    ):
        wrapped(_x())
        with runtime_config(module, dynamic_shapes_kernel_specialization_strategy="none"):
            x = _x()
            torch.testing.assert_close(wrapped(x), _scale_shift(x))
            assert wrapped.num_captures == 2 and module.engine.contexts_created == 2
        x = _x()
        torch.testing.assert_close(wrapped(x), _scale_shift(x))
        assert wrapped.num_captures == 3 and wrapped.num_graphs == 1
    assert sum("execution context changed" in r.getMessage() for r in caplog.records) == 1


def test_exit_frees_the_graphs_and_the_wrapper_refuses_calls(control) -> None:
    module = _module()
    with runtime_config(module, **CAPTURABLE):
        with enable_cudagraphs(module) as wrapped:
            wrapped(_x(2))
            wrapped(_x(4))
            assert wrapped.num_graphs == 2
        assert wrapped.closed and wrapped.num_graphs == 0
        with pytest.raises(RuntimeError, match="after its `with` block exited"):
            wrapped(_x(2))
        x = _x()
        torch.testing.assert_close(module(x), _scale_shift(x))


@pytest.mark.cuda
def test_replays_from_two_streams_never_share_inputs_mid_flight(cuda_double_backend) -> None:
    # A slow replay on stream A, then at once a call on stream B with other inputs: B must wait
    # until A is done with the static buffers, so each result belongs to its own inputs.
    size = 2048
    spec = InputSpec("x", "float32", (size, size), (size, size), (size, size))
    slow = synthetic_module(lambda x: torch.linalg.matrix_power(x, 64), [spec])
    eye = torch.eye(size, device="cuda")
    with runtime_config(slow, dynamic_shapes_kernel_specialization_strategy="eager"):
        with enable_cudagraphs(slow) as wrapped:
            wrapped(eye)  # capture
            stream_a, stream_b = torch.cuda.Stream(), torch.cuda.Stream()
            a_in, b_in = eye * 0.5, eye * 2.0
            torch.cuda.synchronize()
            with torch.cuda.stream(stream_a):
                out_a = wrapped(a_in)
            with torch.cuda.stream(stream_b):
                out_b = wrapped(b_in)
            torch.cuda.synchronize()
    torch.testing.assert_close(out_a, eye * 0.5**64)
    torch.testing.assert_close(out_b, eye * 2.0**64)
