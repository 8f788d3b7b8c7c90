"""Errors a user meets at the first forward: device problems and bad inputs."""

from __future__ import annotations

import pytest
import torch

import torchrtx
from support.double_plans import register_plan, synthetic_module
from support.trt_double import make_double
from torchrtx._backend import use_backend
from torchrtx._spec import InputSpec
from torchrtx.runtime import device as device_module
from torchrtx.runtime.device import check_device, check_engine_targets, resolve_device
from torchrtx.runtime.errors import (
    EngineCapabilityMismatchError,
    EngineDeserializationError,
    NoCUDADeviceError,
    UnsupportedGPUError,
)
from torchrtx.runtime.module import TRTModule

X = InputSpec("x", "float32", (1, 4), (2, 4), (8, 4))
Y = InputSpec("y", "int32", (2, 3), (2, 3), (2, 3))


@pytest.mark.parametrize("capability", [(8, 0), (8, 6), (8, 9), (12, 0), (12, 1)])
def test_supported_capabilities_pass(capability: tuple[int, int]) -> None:
    check_device(capability)


@pytest.mark.parametrize("capability", [(7, 5), (8, 7), (9, 0), (10, 0)])
def test_unsupported_capability_names_it_and_the_list(capability: tuple[int, int]) -> None:
    with pytest.raises(UnsupportedGPUError) as caught:
        check_device(capability, device_name="GPU 0 (Test GPU)")
    message = str(caught.value)
    assert f"compute capability {capability[0]}.{capability[1]}" in message
    assert "GPU 0 (Test GPU)" in message
    assert "8.0, 8.6, 8.9, 12.x" in message


def test_engine_built_for_other_capabilities_says_how_to_recompile() -> None:
    check_engine_targets((8, 9), ("sm86", "sm89"))
    check_engine_targets((8, 9), ())
    with pytest.raises(EngineCapabilityMismatchError) as caught:
        check_engine_targets((8, 6), ("sm89", "sm120"))
    message = str(caught.value)
    assert "sm89, sm120" in message and "sm86" in message
    assert "compute_capabilities=['sm86']" in message


def test_real_backend_without_gpu_raises_at_first_forward_not_at_load(real_plan, tmp_path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert torchrtx.backend_info().name == "tensorrt_rtx"
    module = TRTModule(real_plan.plan, real_plan.spec)
    path = tmp_path / "m.trtm"
    torchrtx.save(module, str(path))
    loaded = torchrtx.load(str(path))
    assert "sum" in loaded.describe()
    with pytest.raises(NoCUDADeviceError, match="torch.cuda.is_available\\(\\) is False"):
        loaded(torch.ones(2, 4), torch.ones(2, 4))
    assert not loaded.engine.has_context() and loaded.engine.contexts_created == 0


class _FakeGPU:
    """Makes torch report one CUDA device of the given capability (the double never touches it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int]) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")


def test_unsupported_gpu_raises_at_first_forward(monkeypatch) -> None:
    with use_backend(make_double(device="cuda")):
        module = synthetic_module(lambda x: x, [X], compute_capabilities=("sm90",))
        _FakeGPU(monkeypatch, (9, 0))
        with pytest.raises(UnsupportedGPUError, match=r"GPU 0 \(Fake GPU\) has compute capability 9.0"):
            module(torch.ones(2, 4))


def test_engine_for_other_gpu_raises_at_first_forward(monkeypatch) -> None:
    with use_backend(make_double(device="cuda")):
        module = synthetic_module(lambda x: x, [X], compute_capabilities=("sm120",))
        _FakeGPU(monkeypatch, (8, 9))
        with pytest.raises(EngineCapabilityMismatchError, match=r"compute_capabilities=\['sm89'\]"):
            module(torch.ones(2, 4))


def test_standard_tensorrt_skips_the_tensorrt_rtx_gpu_checks(monkeypatch) -> None:
    with use_backend(make_double("tensorrt", device="cuda")) as standard:
        _FakeGPU(monkeypatch, (9, 0))
        assert resolve_device(standard, ("sm120",)) == torch.device("cuda", 0)
    with use_backend(make_double("tensorrt_rtx", device="cuda")) as rtx:
        with pytest.raises(UnsupportedGPUError):
            resolve_device(rtx, ("sm120",))


def test_widened_supported_list_lets_a_gpu_through(monkeypatch) -> None:
    monkeypatch.setattr(device_module, "SUPPORTED_COMPUTE_CAPABILITIES", ((9, 0),))
    check_device((9, 0))
    with pytest.raises(UnsupportedGPUError, match="supported compute capabilities: 9.0"):
        check_device((8, 9))


def test_unknown_plan_raises_deserialization_error(double_backend) -> None:
    module = TRTModule(b"not a plan", synthetic_module(lambda x: x, [X]).spec)
    with pytest.raises(EngineDeserializationError, match="could not deserialize"):
        module(torch.ones(2, 4))


@pytest.fixture
def two_input_module(double_backend) -> TRTModule:
    return synthetic_module(lambda x, y: (x + 1, y * 2), [X, Y])


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        ((torch.ones(2, 4),), TypeError, r"takes 2 input\(s\) \(x, y\), got 1"),
        ((torch.ones(2, 4), torch.ones(2, 3, dtype=torch.int32), torch.ones(1)), TypeError, "got 3"),
        (
            (torch.ones(2, 4, dtype=torch.float64), torch.ones(2, 3, dtype=torch.int32)),
            TypeError,
            r"input 'x' must have dtype torch.float32, got torch.float64",
        ),
        ((torch.ones(2, 4), torch.ones(2, 3)), TypeError, r"input 'y' must have dtype torch.int32"),
        (
            (torch.ones(2, 4, device="meta"), torch.ones(2, 3, dtype=torch.int32)),
            ValueError,
            r"input 'x' is on meta, but the engine runs on cpu",
        ),
        (
            (torch.ones(9, 4), torch.ones(2, 3, dtype=torch.int32)),
            ValueError,
            r"input 'x' has shape \(9, 4\), outside the engine's profile; allowed \(1..8, 4\)",
        ),
        ((torch.ones(2, 5), torch.ones(2, 3, dtype=torch.int32)), ValueError, r"allowed \(1..8, 4\)"),
        (
            (torch.ones(0, 4), torch.ones(2, 3, dtype=torch.int32)),
            ValueError,
            r"input 'x' has shape \(0, 4\), outside the engine's profile; allowed \(1..8, 4\)",
        ),
        ((torch.ones(2, 4), torch.ones(2, 2, dtype=torch.int32)), ValueError, r"input 'y'.*allowed \(2, 3\)"),
        ((torch.ones(2, 4), torch.ones(3, 3, dtype=torch.int32)), ValueError, r"input 'y'.*allowed \(2, 3\)"),
        (
            (torch.ones(2, 4, 1), torch.ones(2, 3, dtype=torch.int32)),
            ValueError,
            r"input 'x' must have rank 2",
        ),
        (("x", torch.ones(2, 3, dtype=torch.int32)), TypeError, r"input 'x' must be a torch.Tensor"),
    ],
)
def test_bad_inputs_name_the_input_and_leave_the_engine_usable(
    two_input_module, double_control, inputs, error, message
) -> None:
    with pytest.raises(error, match=message):
        two_input_module(*inputs)
    assert double_control.contexts_created == 0 and double_control.executions == []
    plus, twice = two_input_module(torch.ones(2, 4), torch.ones(2, 3, dtype=torch.int32))
    torch.testing.assert_close(twice, torch.full((2, 3), 2, dtype=torch.int32))
    assert double_control.contexts_created == 1


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.ones(2, 4, dtype=torch.float64), TypeError, r"input 'x' must have dtype torch.float32"),
        (torch.ones(2, 4, device="meta"), ValueError, r"input 'x' is on meta, but the engine runs on cpu"),
    ],
)
def test_a_shape_seen_before_is_still_checked_for_dtype_and_device(
    two_input_module, double_control, x, error, message
) -> None:
    y = torch.ones(2, 3, dtype=torch.int32)
    two_input_module(torch.ones(2, 4), y)
    with pytest.raises(error, match=message):
        two_input_module(x, y)
    assert len(double_control.executions) == 1


def test_registered_real_plan_checks_like_any_other(double_backend, real_plan) -> None:
    register_plan(real_plan.plan, real_plan.reference, real_plan.spec)
    module = TRTModule(real_plan.plan, real_plan.spec)
    with pytest.raises(ValueError, match=r"input 'y' has shape \(2, 5\).*allowed \(1..8, 4\)"):
        module(torch.ones(2, 4), torch.ones(2, 5))
