"""The double offers only API the real tensorrt_rtx bindings have, with the same parameter names."""

from __future__ import annotations

import enum
import types

import pytest
import tensorrt_rtx

from support import trt_double
from support.conformance import check_class, check_module, real_overloads
from support.trt_double import make_double


@pytest.mark.parametrize("flavour", ["tensorrt_rtx", "tensorrt"])
def test_double_offers_only_real_api(flavour: str) -> None:
    assert check_module(make_double(flavour), tensorrt_rtx) == []


def test_overloads_are_read_from_pybind_docstrings() -> None:
    overloads = real_overloads(tensorrt_rtx.ICudaEngine.create_execution_context, "create_execution_context")
    assert overloads == [[("strategy", True)], [("runtime_config", True)]]
    assert real_overloads(tensorrt_rtx.IExecutionContext.execute_async_v3, "execute_async_v3") == [
        [("stream_handle", False)]
    ]


class _InventedMethod(trt_double.IExecutionContext):
    def execute_with_magic(self, stream_handle: int) -> bool:
        return True


class _RenamedParameter(trt_double.IExecutionContext):
    def execute_async_v3(self, stream: int) -> bool:
        return True


class _InventedProperty(trt_double.IRuntimeConfig):
    @property
    def kernel_budget(self) -> int:
        return 0


class _SettableReadOnly(trt_double.IExecutionContext):
    @property
    def engine(self) -> object:
        return None

    @engine.setter
    def engine(self, value: object) -> None:
        pass


class _InventedEnumMember(enum.Enum):
    LAZY = 0
    SPECULATIVE = 3


class _WrongEnumValue(enum.Enum):
    DISABLED = 1


class _RenamedConstructorArgument(trt_double.Runtime):
    def __init__(self, log: object) -> None:
        pass


@pytest.mark.parametrize(
    ("double_cls", "real_cls", "expected"),
    [
        (_InventedMethod, tensorrt_rtx.IExecutionContext, "execute_with_magic: not in the real"),
        (
            _RenamedParameter,
            tensorrt_rtx.IExecutionContext,
            "double takes (stream), real overloads take (stream_handle)",
        ),
        (_InventedProperty, tensorrt_rtx.IRuntimeConfig, "kernel_budget: not in the real"),
        (_SettableReadOnly, tensorrt_rtx.IExecutionContext, "engine: settable in the double, read-only"),
        (
            _InventedEnumMember,
            tensorrt_rtx.DynamicShapesKernelSpecializationStrategy,
            "SPECULATIVE: not a member",
        ),
        (_WrongEnumValue, tensorrt_rtx.CudaGraphStrategy, "DISABLED: real value 0, double has 1"),
        (_RenamedConstructorArgument, tensorrt_rtx.Runtime, "__init__: double takes (log)"),
    ],
)
def test_checker_reports_made_up_api(double_cls: type, real_cls: type, expected: str) -> None:
    problems = check_class(double_cls, real_cls, "X")
    assert len(problems) == 1 and expected in problems[0], problems


def test_checker_reports_made_up_module_member() -> None:
    double = make_double()
    double.IKernelJit = type("IKernelJit", (), {})
    assert check_module(double, tensorrt_rtx) == ["IKernelJit: not in tensorrt_rtx"]


def test_checker_ignores_double_plumbing_only() -> None:
    double = types.ModuleType("tensorrt_rtx")
    double._private_hook = object()
    double.Runtime = trt_double.Runtime
    assert check_module(double, tensorrt_rtx) == []
