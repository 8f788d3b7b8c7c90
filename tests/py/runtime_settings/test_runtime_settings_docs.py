"""Every example of the runtime-settings guide runs; the seed "putting it all together" scenario counts.

The guide (docsrc/user_guide/runtime_settings.rst) shows examples only through
``literalinclude`` of files in docsrc/examples/runtime_settings/, which this test executes
with modules built from a real TensorRT-RTX plan and run by the double.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import torch

from support.double_cache import decode_blob
from support.double_plans import register_plan
from support.trt_double import DEFAULT_ENVIRONMENT, cache_kernels
from torchrtx.runtime import RuntimeSettings, TRTModule

DOCS = pathlib.Path(__file__).resolve().parents[3] / "docsrc"
GUIDE = DOCS / "user_guide" / "runtime_settings.rst"
EXAMPLES = DOCS / "examples" / "runtime_settings"


def included_examples() -> list[str]:
    return re.findall(r"literalinclude:: \.\./examples/runtime_settings/(\S+\.py)", GUIDE.read_text())


def test_guide_shows_python_only_through_tested_example_files() -> None:
    text = GUIDE.read_text()
    assert "code-block:: python" not in text and ">>>" not in text
    included = included_examples()
    assert sorted(set(included)) == sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.fixture
def namespace(double_backend, real_plan, tmp_path: pathlib.Path) -> dict[str, object]:
    register_plan(real_plan.plan, real_plan.reference, real_plan.spec)
    x = torch.randn(3, 4)
    y = torch.randn(3, 4)
    return {
        "mod": TRTModule(real_plan.plan, real_plan.spec),
        "mod1": TRTModule(real_plan.plan, real_plan.spec),
        "mod2": TRTModule(real_plan.plan, real_plan.spec),
        "x": x,
        "y": y,
        "inputs": (x, y),
        "cache_path": str(tmp_path / "jit.bin"),
    }


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "compile_hint.py"))
def test_example_runs(name: str, namespace: dict[str, object]) -> None:
    exec(compile((EXAMPLES / name).read_text(), name, "exec"), namespace)


def test_compile_hint_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile((EXAMPLES / "compile_hint.py").read_text(), "compile_hint.py", "exec"), namespace)
    compiled = namespace["compiled"]
    assert compiled.runtime_settings == RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="eager")


def test_putting_it_all_together_counts(namespace: dict[str, object], double_control) -> None:
    mod1, mod2 = namespace["mod1"], namespace["mod2"]
    before = (mod1.runtime_settings, mod2.runtime_settings)
    exec(compile((EXAMPLES / "putting_it_all_together.py").read_text(), "seed", "exec"), namespace)
    assert mod1.engine.contexts_created == 1
    assert mod2.engine.contexts_created == 1
    first, second = double_control.contexts
    assert (first.kernel_strategy, first.cuda_graph_strategy) == ("eager", "whole_graph_capture")
    assert (second.kernel_strategy, second.cuda_graph_strategy) == ("lazy", "disabled")
    assert first.runtime_cache is second.runtime_cache is not None
    saved = decode_blob(pathlib.Path(namespace["cache_path"]).read_bytes(), DEFAULT_ENVIRONMENT)
    # Both modules run the same plan on (3, 4) inputs, so they share that one kernel entry.
    assert saved == cache_kernels(first.runtime_cache) == {f"{first.plan_id}:((3, 4), (3, 4))"}
    assert (mod1.runtime_settings, mod2.runtime_settings) == before
