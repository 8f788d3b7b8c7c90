"""TRTModule.forward through PythonTRTEngine and the double: results, shapes, bindings."""

from __future__ import annotations

import pytest
import torch

from support.double_plans import register_plan, synthetic_module
from support.trt_double import control_of
from torchrtx._spec import InputSpec
from torchrtx.runtime.engine import PythonTRTEngine
from torchrtx.runtime.module import TRTModule


def _two_by_three(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return a + b, (a * b).sum(dim=-1), torch.cat([a, b], dim=0)


def _dynamic(name: str, low: int, opt: int, high: int, *rest: int, dtype: str = "float32") -> InputSpec:
    return InputSpec(name, dtype, (low, *rest), (opt, *rest), (high, *rest))


@pytest.mark.parametrize("batch", [1, 3, 8, 16])
def test_single_output_matches_reference_across_profile(double_backend, batch: int) -> None:
    module = synthetic_module(lambda x: torch.tanh(x) * 0.5 + x.square(), [_dynamic("x", 1, 4, 16, 8)])
    x = torch.randn(batch, 8)
    out = module(x)
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, torch.tanh(x) * 0.5 + x.square(), rtol=1.3e-6, atol=1e-5)


def test_multiple_inputs_and_outputs_at_several_shapes(double_backend, double_control) -> None:
    module = synthetic_module(_two_by_three, [_dynamic("a", 1, 2, 6, 5), _dynamic("b", 1, 2, 6, 5)])
    for batch in (1, 6, 2, 6):
        a, b = torch.randn(batch, 5), torch.randn(batch, 5)
        outs = module(a, b)
        assert isinstance(outs, tuple) and len(outs) == 3
        for got, want in zip(outs, _two_by_three(a, b), strict=True):
            torch.testing.assert_close(got, want)
    shapes_seen = [record.input_shapes for record in double_control.executions]
    assert shapes_seen == [((1, 5), (1, 5)), ((6, 5), (6, 5)), ((2, 5), (2, 5)), ((6, 5), (6, 5))]


def test_real_builder_plan_runs_through_the_double(double_backend, real_plan) -> None:
    register_plan(real_plan.plan, real_plan.reference, real_plan.spec)
    module = TRTModule(real_plan.plan, real_plan.spec)
    x, y = torch.randn(5, 4), torch.randn(5, 4)
    total, relu = module(x, y)
    torch.testing.assert_close(total, x + y)
    torch.testing.assert_close(relu, torch.relu(x))


def test_non_contiguous_inputs_are_made_contiguous(double_backend) -> None:
    module = synthetic_module(lambda x: x * 2, [_dynamic("x", 1, 2, 8, 4)])
    wide = torch.randn(4, 8)
    strided = wide[:, ::2]
    assert not strided.is_contiguous()
    torch.testing.assert_close(module(strided), strided * 2)


def test_outputs_are_fresh_tensors_each_call(double_backend) -> None:
    module = synthetic_module(lambda x: x + 1, [_dynamic("x", 1, 2, 8, 4)])
    first = module(torch.zeros(2, 4))
    second = module(torch.ones(2, 4))
    assert first.data_ptr() != second.data_ptr()
    torch.testing.assert_close(first, torch.ones(2, 4))
    torch.testing.assert_close(second, torch.full((2, 4), 2.0))


def test_the_double_reads_the_addresses_the_engine_bound(double_backend, double_control) -> None:
    module = synthetic_module(lambda a, b: a - b, [_dynamic("a", 1, 2, 4, 3), _dynamic("b", 1, 2, 4, 3)])
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    module(a, b)
    context = module.engine.context
    # Swapping the bindings must change the result: the double computes from memory, not from Python objects.
    context.set_tensor_address("a", b.data_ptr())
    context.set_tensor_address("b", a.data_ptr())
    out = torch.empty(2, 3)
    context.set_tensor_address("output0", out.data_ptr())
    assert context.execute_async_v3(0)
    torch.testing.assert_close(out, b - a)


def test_engine_execute_returns_outputs_in_spec_order(double_backend) -> None:
    module = synthetic_module(lambda x: (x + 1, x - 1), [_dynamic("x", 1, 1, 2, 2)])
    engine = PythonTRTEngine(module.serialized_engine, module.spec)
    plus, minus = engine.execute([torch.zeros(1, 2)])
    torch.testing.assert_close(plus, torch.ones(1, 2))
    torch.testing.assert_close(minus, -torch.ones(1, 2))
    assert engine.device == torch.device("cpu")


def test_module_with_an_nn_module_reference(double_backend, double_control) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).eval()
    module = synthetic_module(model, [_dynamic("x", 1, 4, 32, 8)])
    x = torch.randn(7, 8)
    with torch.no_grad():
        torch.testing.assert_close(module(x), model(x))
    assert control_of(double_backend).executions[-1].input_shapes == ((7, 8),)
