"""Real TensorRT-RTX plans built with the real builder (no GPU needed), for tests that need real bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from torchrtx._backend import builder_backend
from torchrtx._spec import EngineSpec, InputSpec, OutputSpec
from torchrtx._trt_logger import trt_logger

__all__ = ["RealPlan", "build_add_relu_plan"]


@dataclass(frozen=True)
class RealPlan:
    """A real plan, its I/O description and the torch function it computes."""

    plan: bytes
    spec: EngineSpec
    reference: Callable[..., tuple[torch.Tensor, ...]]


def _add_relu(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x + y, torch.relu(x)


def build_add_relu_plan(capabilities: Sequence[str] = ("sm89",)) -> RealPlan:
    """Build ``(x + y, relu(x))`` for x, y of shape (1..8, 4) float32 with the real TensorRT-RTX builder."""
    trt = builder_backend()
    builder = trt.Builder(trt_logger(trt))
    network = builder.create_network(0)
    x = network.add_input("x", trt.float32, (-1, 4))
    y = network.add_input("y", trt.float32, (-1, 4))
    total = network.add_elementwise(x, y, trt.ElementWiseOperation.SUM).get_output(0)
    total.name = "sum"
    relu = network.add_activation(x, trt.ActivationType.RELU).get_output(0)
    relu.name = "relu"
    network.mark_output(total)
    network.mark_output(relu)
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    for name in ("x", "y"):
        profile.set_shape(name, (1, 4), (4, 4), (8, 4))
    config.add_optimization_profile(profile)
    config.num_compute_capabilities = len(capabilities)
    for index, name in enumerate(capabilities):
        config.set_compute_capability(getattr(trt.ComputeCapability, name.upper()), index)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("the real TensorRT-RTX builder failed to build the test plan")
    inputs = tuple(InputSpec(name, "float32", (1, 4), (4, 4), (8, 4)) for name in ("x", "y"))
    outputs = (OutputSpec("sum", "float32", (-1, 4)), OutputSpec("relu", "float32", (-1, 4)))
    spec = EngineSpec(
        inputs=inputs,
        outputs=outputs,
        compute_capabilities=tuple(capabilities),
        trt_version=trt.__version__,
        returns_tuple=True,
    )
    return RealPlan(plan=bytes(plan), spec=spec, reference=_add_relu)
