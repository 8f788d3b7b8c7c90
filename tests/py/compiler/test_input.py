"""torchrtx.Input validation, and compile() rejecting bad specs before any export starts."""

from __future__ import annotations

import numpy
import pytest
import torch

import torchrtx
from torchrtx import Input


def test_static_shape_sets_min_opt_max_alike():
    item = Input(shape=[2, 3], dtype="float16", name="x")
    assert (item.min_shape, item.opt_shape, item.max_shape) == ((2, 3), (2, 3), (2, 3))
    assert item.dtype is torch.float16
    assert not item.is_dynamic and item.dynamic_dims == ()


def test_dynamic_dims_are_those_whose_min_and_max_differ():
    item = Input(min_shape=(1, 3, 8), opt_shape=(4, 3, 8), max_shape=(8, 3, 16))
    assert item.is_dynamic
    assert item.dynamic_dims == (0, 2)


def test_integer_scalars_are_accepted_as_dims():
    item = Input(shape=(numpy.int64(2), torch.tensor(3)), name="x")
    assert item.min_shape == (2, 3)
    assert all(type(d) is int for d in item.min_shape)


def test_from_tensor_takes_shape_and_dtype():
    item = Input.from_tensor(torch.zeros(2, 5, dtype=torch.int32), name="ids")
    assert item == Input(shape=(2, 5), dtype=torch.int32, name="ids")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        (dict(min_shape=(1, 3), opt_shape=(2, 3), max_shape=(4,)), "different ranks"),
        (
            dict(min_shape=(4, 3), opt_shape=(2, 3), max_shape=(8, 3)),
            "dim 0 breaks min <= opt <= max (4, 2, 8)",
        ),
        (
            dict(min_shape=(1, 3), opt_shape=(9, 3), max_shape=(8, 3)),
            "dim 0 breaks min <= opt <= max (1, 9, 8)",
        ),
        (dict(shape=(2, -1)), "has dim -1; every dim must be >= 1"),
        (dict(min_shape=(0, 3), opt_shape=(1, 3), max_shape=(2, 3)), "has dim 0; every dim must be >= 1"),
        (dict(shape=(2, 3), dtype=torch.complex64), "unsupported dtype torch.complex64"),
        (dict(shape=(2, 3), dtype="float64"), "unsupported dtype 'float64'"),
        (dict(shape=(2, 3), min_shape=(1, 3)), "either shape or min/opt/max_shape, not both"),
        (dict(min_shape=(1, 3), max_shape=(4, 3)), "all of min_shape, opt_shape and max_shape"),
        (dict(), "all of min_shape, opt_shape and max_shape"),
        (dict(shape=(2.5, 3)), "non-integer dim 2.5"),
        (dict(shape=(True, 3)), "non-integer dim True"),
        (dict(shape="2x3"), "must be a sequence of ints"),
    ],
)
def test_bad_spec_raises_value_error_naming_input_and_problem(kwargs, problem):
    with pytest.raises(ValueError) as caught:
        Input(name="images", **kwargs)
    assert "Input 'images'" in str(caught.value)
    assert problem in str(caught.value)


def test_empty_name_is_rejected():
    with pytest.raises(ValueError, match="non-empty string"):
        Input(shape=(1,), name="")


def _recording_model() -> tuple[torch.nn.Module, list[tuple[int, ...]]]:
    """A two-input model and the list of shapes its ``forward`` was called with.

    torch.export calls ``forward``, so an empty list means no export began. The list lives
    outside the module because torch.export restores the module's own attributes after tracing.
    """
    calls: list[tuple[int, ...]] = []

    class _Add(torch.nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            calls.append(tuple(x.shape))
            return x + y

    return _Add(), calls


def test_recording_model_sees_the_export():
    model, calls = _recording_model()
    torchrtx.compile(model, [Input(shape=(2, 3))] * 2, compute_capabilities=["sm89"])
    assert calls == [(2, 3)]


@pytest.mark.parametrize(
    ("inputs", "kwargs", "error", "problem"),
    [
        ([Input(shape=(2, 3))], {}, ValueError, "takes 2 positional input(s) but 1 Input(s) were given"),
        ([Input(shape=(2, 3))] * 3, {}, ValueError, "takes 2 positional input(s) but 3 Input(s) were given"),
        ([Input(shape=(2, 3), name="a"), Input(shape=(2, 3), name="a")], {}, ValueError, "repeated: a"),
        ([Input(shape=(2, 3)), "x"], {}, ValueError, "inputs[1] must be a torchrtx.Input"),
        ([], {}, ValueError, "non-empty list"),
        (
            [Input(shape=(2, 3))] * 2,
            {"compute_capabilities": ["sm90"]},
            ValueError,
            "unsupported compute capability 'sm90'; supported: sm80, sm86, sm89, sm120, sm121",
        ),
        (
            [Input(shape=(2, 3))] * 2,
            {"compute_capabilities": []},
            ValueError,
            "compute_capabilities is empty",
        ),
        (
            [Input(shape=(2, 3))] * 2,
            {"runtime_settings": {"cuda_graph_strategy": "disabled"}},
            TypeError,
            "runtime_settings must be a RuntimeSettings",
        ),
    ],
)
def test_compile_rejects_bad_arguments_before_export(inputs, kwargs, error, problem):
    model, calls = _recording_model()
    with pytest.raises(error) as caught:
        torchrtx.compile(model, inputs, **kwargs)
    assert problem in str(caught.value)
    assert calls == []
