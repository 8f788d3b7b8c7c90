"""RuntimeSettings: allowed values, defaults and field overrides (rule 1)."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from torchrtx.runtime import RuntimeCache, RuntimeSettings
from torchrtx.runtime.cache_dir import default_cache_path


def test_defaults_are_lazy_disabled_and_the_private_default_cache() -> None:
    settings = RuntimeSettings()
    assert settings.dynamic_shapes_kernel_specialization_strategy == "lazy"
    assert settings.cuda_graph_strategy == "disabled"
    assert settings.runtime_cache == default_cache_path()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RuntimeSettings().cuda_graph_strategy = "whole_graph_capture"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("dynamic_shapes_kernel_specialization_strategy", "sometimes", "'lazy', 'eager', 'none'"),
        ("cuda_graph_strategy", "always", "'disabled', 'whole_graph_capture'"),
    ],
)
def test_bad_strategy_names_the_allowed_values(field: str, value: str, allowed: str) -> None:
    with pytest.raises(ValueError, match=allowed):
        RuntimeSettings(**{field: value})


@pytest.mark.parametrize("bad_cache", ["", 42, b"/tmp/x"])
def test_bad_runtime_cache_is_a_value_error(bad_cache: object) -> None:
    with pytest.raises(ValueError, match="runtime_cache must be None"):
        RuntimeSettings(runtime_cache=bad_cache)  # type: ignore[arg-type]


def test_pathlike_cache_becomes_a_str_and_objects_are_kept(tmp_path: pathlib.Path) -> None:
    assert RuntimeSettings(runtime_cache=tmp_path / "c.bin").runtime_cache == str(tmp_path / "c.bin")
    cache = RuntimeCache()
    assert RuntimeSettings(runtime_cache=cache).runtime_cache is cache
    assert RuntimeSettings(runtime_cache=None).runtime_cache is None


def test_replace_rejects_unknown_fields_with_type_error_listing_valid_ones() -> None:
    with pytest.raises(TypeError, match="cuda_graph_strategy"):
        RuntimeSettings().replace(kernel_strategy="eager")


def test_equal_settings_compare_equal_and_a_cache_object_by_identity() -> None:
    assert RuntimeSettings(runtime_cache="a") == RuntimeSettings(runtime_cache="a")
    assert RuntimeSettings(runtime_cache=RuntimeCache()) != RuntimeSettings(runtime_cache=RuntimeCache())
