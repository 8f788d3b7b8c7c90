"""A model compiled by torchrtx.compile (real builder) on the runtime: real backend here, and the double."""

from __future__ import annotations

import pytest
import torch

import torchrtx
from support.double_plans import register_plan
from torchrtx.runtime.module import TRTModule


def test_compiled_engine_on_real_backend_without_gpu_raises_no_cuda(compiled_mlp) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    compiled, _ = compiled_mlp
    module = TRTModule(compiled.serialized_engine, compiled.spec)
    assert torchrtx.backend_info().is_rtx
    with pytest.raises(torchrtx.NoCUDADeviceError, match="engines run on a CUDA GPU"):
        module(torch.randn(2, 16))
    assert module.engine.device is None and module.engine.contexts_created == 0


@pytest.mark.parametrize("batch", [1, 4, 8])
def test_compiled_plan_runs_through_the_double(double_backend, double_control, compiled_mlp, batch) -> None:
    compiled, reference = compiled_mlp
    register_plan(compiled.serialized_engine, reference, compiled.spec)
    module = TRTModule(compiled.serialized_engine, compiled.spec)
    x = torch.randn(batch, 16)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x))
    assert double_control.executions[-1].input_shapes == ((batch, 16),)
