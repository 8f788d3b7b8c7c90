"""Fixtures for runtime-settings tests: modules the TensorRT-RTX double runs, and input helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runtime_settings._helpers import DYNAMIC_ROWS
from support.double_plans import register_plan, synthetic_module
from torchrtx.runtime import TRTModule


@pytest.fixture
def make_module(double_backend) -> Callable[..., TRTModule]:
    """Factory of TRTModules (x -> x * scale) that the installed double runs."""

    def make(scale: float = 2.0) -> TRTModule:
        return synthetic_module(lambda x: x * scale, [DYNAMIC_ROWS])

    return make


@pytest.fixture
def real_module(double_backend, real_plan) -> Callable[[], TRTModule]:
    """Factory of TRTModules around the real builder's plan (x, y -> x + y, relu(x)), run by the double."""
    register_plan(real_plan.plan, real_plan.reference, real_plan.spec)
    return lambda: TRTModule(real_plan.plan, real_plan.spec)
