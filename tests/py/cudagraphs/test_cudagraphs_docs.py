"""The CUDA-graphs guide shows code only through example files, and every example runs."""

from __future__ import annotations

import pathlib
import re

import pytest
import torch

from support.double_plans import synthetic_module
from support.trt_double import control_of
from torchrtx._spec import InputSpec

DOCS = pathlib.Path(__file__).resolve().parents[3] / "docsrc"
GUIDE = DOCS / "user_guide" / "cudagraphs.rst"
EXAMPLES = DOCS / "examples" / "cudagraphs"
X = InputSpec("x", "float32", (1, 8), (4, 8), (16, 8))


def _run(name: str, namespace: dict[str, object]) -> dict[str, object]:
    exec(compile((EXAMPLES / name).read_text(), name, "exec"), namespace)
    return namespace


def _knobs(control) -> list[tuple[str | None, str | None]]:
    return [(r.kernel_strategy, r.cuda_graph_strategy) for r in control.contexts]


def test_guide_shows_python_only_through_example_files() -> None:
    text = GUIDE.read_text()
    assert "code-block:: python" not in text and ">>>" not in text
    included = re.findall(r"literalinclude:: \.\./examples/cudagraphs/(\S+\.py)", text)
    assert sorted(included) == sorted(p.name for p in EXAMPLES.glob("*.py"))


def _capture_namespace(device: str) -> dict[str, object]:
    return {
        "mod": synthetic_module(lambda x: x * 2 - 1, [X]),
        "x": torch.randn(4, 8, device=device),
        "x_next": torch.randn(4, 8, device=device),
    }


def test_capture_example_runs_eagerly_on_cpu_with_one_context(double_backend, double_control) -> None:
    namespace = _capture_namespace("cpu")
    before = namespace["mod"].runtime_settings
    _run("capture.py", namespace)
    torch.testing.assert_close(namespace["out"], namespace["x"] * 2 - 1)
    torch.testing.assert_close(namespace["out_next"], namespace["x_next"] * 2 - 1)
    assert _knobs(double_control) == [("eager", "whole_graph_capture")]
    assert namespace["mod"].runtime_settings is before and namespace["wrapped"].closed


@pytest.mark.cuda
def test_capture_example_captures_once_on_cuda(cuda_double_backend) -> None:
    namespace = _capture_namespace("cuda")
    before = namespace["mod"].runtime_settings
    _run("capture.py", namespace)
    torch.testing.assert_close(namespace["out"], namespace["x"] * 2 - 1)
    torch.testing.assert_close(namespace["out_next"], namespace["x_next"] * 2 - 1)
    assert namespace["wrapped"].num_captures == 1
    # Warm-up context with native capture on, then one recreate when it yields to the outer capture.
    knobs = _knobs(control_of(cuda_double_backend))
    assert knobs == [("eager", "whole_graph_capture"), ("eager", "disabled")]
    assert namespace["mod"].runtime_settings is before


def test_list_target_example_gives_one_wrapper_per_module(double_backend, double_control) -> None:
    encoder = synthetic_module(lambda x: x + 3, [X])
    decoder = synthetic_module(lambda x: x * 10, [X])
    namespace = _run("list_target.py", {"encoder": encoder, "decoder": decoder, "x": torch.ones(2, 8)})
    torch.testing.assert_close(namespace["out"], torch.full((2, 8), 40.0))
    assert namespace["run_encoder"].module is encoder and namespace["run_decoder"].module is decoder
    assert _knobs(double_control) == [("none", "disabled"), ("none", "disabled")]
