"""Fixtures shared by the whole suite."""


# --- TensorRT-RTX runtime double (runtime trio) -------------------------------------------------
# Usage: a test asks for ``double_backend`` (the double installed as torchrtx's runtime backend) and
# builds modules with ``support.double_plans.synthetic_module(fn, inputs)``; ``double_control`` is the
# double's counters and switches (contexts, knobs each context saw, executions, cache environment).

import pytest as _pytest  # noqa: E402
import torch as _torch  # noqa: E402


@_pytest.fixture
def double_backend():
    """A fresh TensorRT-RTX runtime double (CPU references) installed as torchrtx's runtime backend."""
    from support.trt_double import make_double
    from torchrtx._backend import use_backend

    with use_backend(make_double("tensorrt_rtx", device="cpu")) as module:
        yield module


@_pytest.fixture
def double_control(double_backend):
    """The :class:`support.trt_double.DoubleControl` of ``double_backend``."""
    from support.trt_double import control_of

    return control_of(double_backend)


@_pytest.fixture
def standard_trt_backend():
    """A standard-TensorRT double (module ``tensorrt``: no runtime config, no knobs) installed."""
    from support.trt_double import make_double
    from torchrtx._backend import use_backend

    with use_backend(make_double("tensorrt", device="cpu")) as module:
        yield module


@_pytest.fixture
def cuda_double_backend(monkeypatch):
    """The double running references on CUDA, installed; the current GPU counts as TensorRT-RTX-supported.

    TensorRT-RTX refuses e.g. H100 (sm90); the double does not care, so only for these tests the
    supported list is widened to the GPU at hand. Build modules with ``compute_capabilities=()``
    or ``(gpu_capability_name(),)``.
    """
    if not _torch.cuda.is_available():
        _pytest.skip("needs a CUDA GPU")
    from support.trt_double import make_double
    from torchrtx._backend import use_backend
    from torchrtx.runtime import device as device_module

    capability = _torch.cuda.get_device_capability()
    monkeypatch.setattr(device_module, "SUPPORTED_COMPUTE_CAPABILITIES",
                        (*device_module.SUPPORTED_COMPUTE_CAPABILITIES, capability))
    with use_backend(make_double("tensorrt_rtx", device="cuda")) as module:
        yield module


@_pytest.fixture(scope="session")
def real_plan():
    """A real TensorRT-RTX plan from the real builder (inputs x, y: (1..8, 4) float32; outputs x+y, relu(x)).

    Yields a :class:`support.real_plans.RealPlan` (plan bytes, spec, reference function).
    """
    from support.real_plans import build_add_relu_plan

    return build_add_relu_plan()


# --- compiled models (foundation) ---------------------------------------------------------------


@_pytest.fixture(scope="session")
def compiled_mlp():
    """``(TRTModule, reference)``: a small MLP compiled once per session with the real builder.

    The reference is the eval-mode ``nn.Module`` (Linear(16, 32) → ReLU → Linear(32, 4)). Its one
    input ``x`` is float32 with a dynamic batch: min (1, 16), opt (4, 16), max (8, 16); its one
    output ``output_0`` is (batch, 4). Built for every compute capability TensorRT-RTX supports.
    """
    import torchrtx

    _torch.manual_seed(0)
    nn = _torch.nn
    reference = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    module = torchrtx.compile(
        reference, [torchrtx.Input(min_shape=(1, 16), opt_shape=(4, 16), max_shape=(8, 16), name="x")]
    )
    return module, reference
