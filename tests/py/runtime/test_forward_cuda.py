"""The forward path on a CUDA GPU: CUDA tensors, a non-default stream, and an outer torch CUDA-graph capture.

TensorRT-RTX cannot run on every GPU (H100 is refused), so these tests run the double with
real CUDA kernels; ``cuda_double_backend`` admits the GPU at hand. CPU-only CI skips them.
"""

from __future__ import annotations

import pytest
import torch

from support.double_plans import synthetic_module
from support.trt_double import control_of
from torchrtx._spec import InputSpec
from torchrtx.runtime.device import capability_name
from torchrtx.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.cuda

X = InputSpec("x", "float32", (1, 64), (8, 64), (32, 64))
Y = InputSpec("y", "float32", (1, 64), (8, 64), (32, 64))


def _targets() -> tuple[str, ...]:
    return (capability_name(torch.cuda.get_device_capability()),)


@pytest.mark.parametrize("batch", [1, 8, 32])
def test_cuda_outputs_match_reference_on_a_side_stream(cuda_double_backend, batch: int) -> None:
    module = synthetic_module(
        lambda x, y: (torch.tanh(x) @ y.T, x + y), [X, Y], compute_capabilities=_targets()
    )
    x, y = torch.randn(batch, 64, device="cuda"), torch.randn(batch, 64, device="cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        mm, total = module(x, y)
    stream.synchronize()
    assert mm.device.type == "cuda" and mm.shape == (batch, batch)
    torch.testing.assert_close(mm, torch.tanh(x) @ y.T)
    torch.testing.assert_close(total, x + y)
    execution = control_of(cuda_double_backend).executions[-1]
    assert execution.stream_handle == stream.cuda_stream != torch.cuda.default_stream().cuda_stream


def test_cuda_one_context_over_shapes_and_cpu_input_refused(cuda_double_backend) -> None:
    module = synthetic_module(lambda x: x * 2, [X], compute_capabilities=_targets())
    for batch in (1, 5, 32):
        x = torch.randn(batch, 64, device="cuda")
        torch.testing.assert_close(module(x), x * 2)
    assert module.engine.contexts_created == 1 == control_of(cuda_double_backend).contexts_created
    with pytest.raises(ValueError, match="input 'x' is on cpu, but the engine runs on cuda"):
        module(torch.randn(2, 64))


def test_outer_graph_capture_turns_native_capture_off(cuda_double_backend) -> None:
    module = synthetic_module(lambda x: x + 1, [X], compute_capabilities=_targets())
    module.engine.update_runtime_settings(
        RuntimeSettings(
            runtime_cache=None,
            cuda_graph_strategy="whole_graph_capture",
            dynamic_shapes_kernel_specialization_strategy="eager",
        )
    )
    static_x = torch.zeros(4, 64, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        module(static_x)
    torch.cuda.current_stream().wait_stream(side)
    assert module.engine.is_capturable(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = module(static_x)
    static_x.fill_(2.0)
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(static_out, torch.full((4, 64), 3.0, device="cuda"))
    strategies = [r.cuda_graph_strategy for r in control_of(cuda_double_backend).contexts]
    assert strategies == ["whole_graph_capture", "disabled"] and module.engine.native_capture_suppressed
