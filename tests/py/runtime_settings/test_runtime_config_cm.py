"""runtime_config and set_dynamic_shapes_kernel_strategy: targets, validation, restore, nesting (rule 3)."""

from __future__ import annotations

import pathlib

import pytest
import torch

from runtime_settings._helpers import knobs, rows
from torchrtx.runtime import RuntimeCache, RuntimeSettings, runtime_config, set_dynamic_shapes_kernel_strategy


class Pipeline(torch.nn.Module):
    """A container with two compiled stages and a plain layer in between."""

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first = first
        self.middle = torch.nn.ReLU()
        self.second = second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.middle(self.first(x)))


def test_overrides_apply_inside_and_the_same_objects_come_back(make_module, double_control) -> None:
    module = make_module()
    shared = RuntimeCache()
    before = RuntimeSettings(runtime_cache=shared)
    module.runtime_settings = before
    with runtime_config(module, dynamic_shapes_kernel_specialization_strategy="eager") as yielded:
        assert yielded is module
        module(rows(2))
        assert module.runtime_settings.dynamic_shapes_kernel_specialization_strategy == "eager"
        assert module.runtime_settings.runtime_cache is shared
    assert module.runtime_settings is before
    assert module.engine.runtime_settings.runtime_cache is shared
    module(rows(2))
    assert [knobs(r) for r in double_control.contexts] == [("eager", "disabled"), ("lazy", "disabled")]


def test_restore_after_an_exception_inside_the_block(make_module) -> None:
    module = make_module()
    before = module.runtime_settings
    with pytest.raises(KeyError, match="boom"):
        with runtime_config(module, cuda_graph_strategy="whole_graph_capture"):
            module(rows(2))
            raise KeyError("boom")
    assert module.runtime_settings is before
    assert module.engine.runtime_settings.cuda_graph_strategy == "disabled"


def test_unknown_key_is_a_type_error_before_anything_changes(make_module) -> None:
    first, second = make_module(), make_module()
    before = [first.runtime_settings, second.runtime_settings]
    with pytest.raises(TypeError, match="kernel_strategy"):
        with runtime_config([first, second], kernel_strategy="eager"):
            pytest.fail("the block must not run")
    assert [first.runtime_settings, second.runtime_settings] == before


def test_bad_value_is_a_value_error_before_any_engine_changes(make_module, double_control) -> None:
    first, second = make_module(), make_module()
    first(rows(2))
    second(rows(2))
    with pytest.raises(ValueError, match="'lazy', 'eager', 'none'"):
        with set_dynamic_shapes_kernel_strategy([first, second], "fastest"):
            pytest.fail("the block must not run")
    assert first.engine.has_context() and second.engine.has_context()
    assert double_control.contexts_created == 2


def test_nested_blocks_restore_in_lifo_order(make_module, double_control) -> None:
    module = make_module()
    outer_before = module.runtime_settings
    with runtime_config(module, dynamic_shapes_kernel_specialization_strategy="eager"):
        inner_before = module.runtime_settings
        with runtime_config(module, cuda_graph_strategy="whole_graph_capture"):
            module(rows(2))
            assert knobs(double_control.contexts[-1]) == ("eager", "whole_graph_capture")
        assert module.runtime_settings is inner_before
        module(rows(2))
        assert knobs(double_control.contexts[-1]) == ("eager", "disabled")
    assert module.runtime_settings is outer_before
    assert double_control.contexts_created == 2


def test_list_target_yields_a_tuple_and_changes_every_module(make_module, double_control) -> None:
    first, second = make_module(), make_module(3.0)
    with set_dynamic_shapes_kernel_strategy([first, second], "none") as yielded:
        assert yielded == (first, second)
        first(rows(1))
        second(rows(1))
    assert [knobs(r) for r in double_control.contexts] == [("none", "disabled")] * 2
    assert first.runtime_settings == second.runtime_settings == RuntimeSettings()


def test_container_target_walks_its_trt_modules(make_module, double_control) -> None:
    pipeline = Pipeline(make_module(), make_module(0.5))
    with runtime_config(pipeline, dynamic_shapes_kernel_specialization_strategy="eager") as yielded:
        assert yielded is pipeline
        out = pipeline(rows(3))
    torch.testing.assert_close(out, torch.relu(rows(3) * 2.0) * 0.5)
    assert [knobs(r) for r in double_control.contexts] == [("eager", "disabled")] * 2


def test_targets_without_engines_are_rejected(make_module) -> None:
    with pytest.raises(ValueError, match="holds no TRTModule"):
        with runtime_config(torch.nn.Linear(2, 2), cuda_graph_strategy="disabled"):
            pass
    with pytest.raises(TypeError, match="got str"):
        with runtime_config(["not a module"], cuda_graph_strategy="disabled"):
            pass


@pytest.mark.filterwarnings("ignore::torchrtx.runtime.RuntimeCacheWarning")  # both handles save at collection
def test_runtime_cache_path_override_gives_each_engine_its_own_handle(make_module, double_control,
                                                                      tmp_path: pathlib.Path) -> None:
    first, second = make_module(), make_module()
    with runtime_config([first, second], runtime_cache=str(tmp_path / "own.bin")):
        first(rows(2))
        second(rows(2))
        handles = [first.engine.runtime_settings.runtime_cache, second.engine.runtime_settings.runtime_cache]
    assert handles[0] is not handles[1]
    assert double_control.contexts[0].runtime_cache is not double_control.contexts[1].runtime_cache


def test_container_target_reaches_engines_nested_below_its_children(make_module, double_control) -> None:
    deep = make_module(3.0)
    outer = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Identity(), deep))
    with runtime_config(outer, dynamic_shapes_kernel_specialization_strategy="none"):
        outer(rows(2))
    assert [knobs(r) for r in double_control.contexts] == [("none", "disabled")]
    assert deep.runtime_settings == RuntimeSettings()


def test_a_failing_restore_does_not_stop_the_others_and_is_raised(make_module,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = make_module(), make_module(3.0)
    before = [first.runtime_settings, second.runtime_settings]
    first(rows(1))
    second(rows(1))
    with pytest.raises(RuntimeError, match="restore failed"):
        with runtime_config([first, second], cuda_graph_strategy="whole_graph_capture"):
            # Restores run last-applied first, so ``second`` fails before ``first`` is restored.
            def refuse(settings: RuntimeSettings) -> None:
                raise RuntimeError("restore failed")

            monkeypatch.setattr(second.engine, "update_runtime_settings", refuse)
    assert first.runtime_settings is before[0]
    assert first.engine.runtime_settings.cuda_graph_strategy == "disabled"
