"""TRTModule.runtime_settings: lazy contexts, context counts, knobs, compile hint, implicit caches."""

from __future__ import annotations

import gc
import os
import pathlib
import subprocess
import sys
import textwrap
import warnings

import pytest

from runtime_settings._helpers import DYNAMIC_ROWS, knobs, rows
from support.double_cache import decode_blob
from support.trt_double import DEFAULT_ENVIRONMENT, cache_kernels
from torchrtx.runtime import RuntimeCache, RuntimeSettings, TRTModule
from torchrtx.runtime.cache_dir import UnsafeCacheDirError, default_cache_dir, default_cache_path


def eager() -> RuntimeSettings:
    """Eager kernels, default cache; built per test so the cache is under the test's XDG_CACHE_HOME."""
    return RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="eager")


def test_settings_before_the_first_call_create_exactly_one_context(make_module, double_control) -> None:
    module = make_module()
    module.runtime_settings = eager()
    assert not module.engine.has_context()
    module(rows(2))
    module(rows(3))
    assert module.engine.contexts_created == 1
    assert [knobs(r) for r in double_control.contexts] == [("eager", "disabled")]


def test_a_change_after_the_first_call_creates_one_more_context(make_module, double_control) -> None:
    module = make_module()
    module(rows(2))
    module.runtime_settings = eager()
    assert not module.engine.has_context()  # dropped now, recreated lazily
    module(rows(2))
    module(rows(2))
    assert module.engine.contexts_created == 2
    assert [knobs(r) for r in double_control.contexts] == [("lazy", "disabled"), ("eager", "disabled")]


def test_equal_settings_create_no_new_context(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    module.runtime_settings = RuntimeSettings(runtime_cache=str(tmp_path / "c.bin"))
    module(rows(2))
    module.runtime_settings = RuntimeSettings(runtime_cache=str(tmp_path / "c.bin"))
    module.runtime_settings = module.runtime_settings
    module(rows(2))
    assert module.engine.contexts_created == 1


def test_compile_time_hint_makes_the_first_call_create_the_only_context(double_backend, double_control,
                                                                         real_plan, real_module) -> None:
    hint = eager()
    hinted = TRTModule(real_plan.plan, real_plan.spec, runtime_settings=hint)
    x = rows(2)
    total, relu = hinted(x, x)
    assert hinted.engine.contexts_created == 1
    assert [knobs(r) for r in double_control.contexts] == [("eager", "disabled")]
    assert hinted.runtime_settings is hint


def test_reading_back_gives_the_settings_as_given(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    settings = RuntimeSettings(runtime_cache=str(tmp_path / "c.bin"))
    module.runtime_settings = settings
    assert module.runtime_settings is settings
    assert module.runtime_settings.runtime_cache == str(tmp_path / "c.bin")
    engine_cache = module.engine.runtime_settings.runtime_cache
    assert isinstance(engine_cache, RuntimeCache) and engine_cache.path == str(tmp_path / "c.bin")


def test_non_settings_are_a_type_error(make_module) -> None:
    with pytest.raises(TypeError, match="RuntimeSettings"):
        make_module().runtime_settings = {"dynamic_shapes_kernel_specialization_strategy": "eager"}


def test_default_settings_attach_the_default_cache_and_save_it_when_collected(make_module,
                                                                             double_control) -> None:
    module = make_module()
    module(rows(3))
    backend_cache = double_control.contexts[0].runtime_cache
    assert backend_cache is not None and cache_kernels(backend_cache)
    assert not os.path.exists(default_cache_path())
    del module, backend_cache
    gc.collect()
    saved = decode_blob(pathlib.Path(default_cache_path()).read_bytes(), DEFAULT_ENVIRONMENT)
    assert saved and any(k.endswith(":((3, 4),)") for k in saved)


def test_implicit_cache_is_warm_loaded_into_the_next_module(make_module, double_control,
                                                            tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "c.bin")
    first = make_module()
    first.runtime_settings = RuntimeSettings(runtime_cache=path)
    first(rows(5))
    del first
    gc.collect()
    second = make_module()
    second.runtime_settings = RuntimeSettings(runtime_cache=path)
    second(rows(2))
    assert any(k.endswith(":((5, 4),)") for k in cache_kernels(double_control.contexts[-1].runtime_cache))


def test_restoring_a_path_reuses_the_same_implicit_handle(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    original = RuntimeSettings(runtime_cache=str(tmp_path / "c.bin"))
    module.runtime_settings = original
    handle = module.engine.runtime_settings.runtime_cache
    module.runtime_settings = RuntimeSettings(runtime_cache=None)
    module.runtime_settings = original
    assert module.engine.runtime_settings.runtime_cache is handle


def test_implicit_cache_is_saved_at_interpreter_exit(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "exit.bin"
    script = textwrap.dedent(f"""
        import torch
        from support.trt_double import make_double
        from support.double_plans import synthetic_module
        from torchrtx._backend import use_backend
        from torchrtx._spec import InputSpec
        from torchrtx.runtime import RuntimeSettings
        with use_backend(make_double()):
            module = synthetic_module(lambda x: x + 1, [InputSpec("x", "float32", (1, 4), (2, 4), (8, 4))])
            module.runtime_settings = RuntimeSettings(runtime_cache={str(path)!r})
            module(torch.ones(6, 4))
            keep_alive = module   # still referenced when the interpreter exits
    """)
    tests_root = pathlib.Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests_root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path, timeout=120)
    saved = decode_blob(path.read_bytes(), DEFAULT_ENVIRONMENT)
    assert saved and any(k.endswith(":((6, 4),)") for k in saved)


def test_standard_tensorrt_warns_and_ignores_non_default_settings(standard_trt_backend, tmp_path) -> None:
    from support.double_plans import synthetic_module
    from support.trt_double import control_of

    module = synthetic_module(lambda x: x * 3, [DYNAMIC_ROWS])
    module(rows(2))
    with pytest.warns(UserWarning, match="need TensorRT-RTX"):
        module.runtime_settings = eager()
    module(rows(2))
    control = control_of(standard_trt_backend)
    assert module.engine.contexts_created == 1
    assert [knobs(r) for r in control.contexts] == [(None, None)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module.runtime_settings = RuntimeSettings()  # defaults: no warning


def test_settings_that_cannot_be_applied_change_nothing(make_module, double_control,
                                                        tmp_path: pathlib.Path) -> None:
    module = make_module()
    module.runtime_settings = RuntimeSettings(runtime_cache=None)
    module(rows(2))
    before = module.runtime_settings
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(os.path.dirname(default_cache_dir()), exist_ok=True)
    os.symlink(elsewhere, default_cache_dir())  # the default cache cannot be opened now
    with pytest.raises(UnsafeCacheDirError, match="symbolic link"):
        module.runtime_settings = eager()
    assert module.runtime_settings is before
    module(rows(2))
    assert module.engine.contexts_created == 1
    assert [knobs(r) for r in double_control.contexts] == [("lazy", "disabled")]
