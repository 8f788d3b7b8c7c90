"""runtime_cache: one shared cache, load on enter, save then restore on exit, streams, nesting (rule 4)."""

from __future__ import annotations

import gc
import io
import pathlib
import warnings

import pytest

from runtime_settings._helpers import rows
from support.double_cache import decode_blob, encode_blob
from support.trt_double import DEFAULT_ENVIRONMENT, cache_kernels
from torchrtx.runtime import RuntimeCache, RuntimeCacheWarning, RuntimeSettings, runtime_cache


def kernels_in_file(path: pathlib.Path) -> frozenset[str] | None:
    return decode_blob(path.read_bytes(), DEFAULT_ENVIRONMENT)


def test_one_cache_is_shared_so_kernels_of_one_module_are_seen_by_the_other(make_module, double_control,
                                                                             tmp_path: pathlib.Path) -> None:
    first, second = make_module(), make_module(5.0)
    with runtime_cache([first, second], tmp_path / "jit.bin") as rc:
        assert rc.path == str(tmp_path / "jit.bin")
        first(rows(7))
        second(rows(3))
        first_cache, second_cache = (r.runtime_cache for r in double_control.contexts)
        assert first_cache is second_cache
        first_plan = double_control.contexts[0].plan_id
        assert f"{first_plan}:((7, 4),)" in cache_kernels(second_cache)
        assert first.engine.runtime_settings.runtime_cache is rc
        assert second.engine.runtime_settings.runtime_cache is rc
    assert kernels_in_file(tmp_path / "jit.bin") == cache_kernels(first_cache)
    assert first.runtime_settings == second.runtime_settings == RuntimeSettings()


def test_enter_loads_the_file_and_exit_saves_new_kernels(make_module, double_control,
                                                        tmp_path: pathlib.Path) -> None:
    path = tmp_path / "jit.bin"
    path.write_bytes(encode_blob(DEFAULT_ENVIRONMENT, ["from-disk"]))
    module = make_module()
    with runtime_cache(module, str(path)):
        module(rows(4))
        assert "from-disk" in cache_kernels(double_control.contexts[0].runtime_cache)
    saved = kernels_in_file(path)
    assert "from-disk" in saved and len(saved) == 2


def test_corrupt_file_warns_and_runs_with_an_empty_cache_then_is_replaced(make_module, double_control,
                                                                          tmp_path: pathlib.Path) -> None:
    path = tmp_path / "jit.bin"
    path.write_bytes(b"definitely not a runtime cache")
    module = make_module()
    with runtime_cache(module, path):
        with pytest.warns(UserWarning, match="rejected"):
            module(rows(2))
        assert len(cache_kernels(double_control.contexts[0].runtime_cache)) == 1
    assert len(kernels_in_file(path)) == 1


def test_exit_saves_then_restores_even_after_an_exception(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    before = module.runtime_settings
    with pytest.raises(RuntimeError, match="inside"):
        with runtime_cache(module, tmp_path / "jit.bin"):
            module(rows(2))
            raise RuntimeError("inside")
    assert module.runtime_settings is before
    assert kernels_in_file(tmp_path / "jit.bin")


def test_nested_blocks_on_the_same_real_path_share_one_handle(make_module, double_control,
                                                              tmp_path: pathlib.Path) -> None:
    first, second = make_module(), make_module(3.0)
    (tmp_path / "dir").mkdir()
    alias = tmp_path / "link"
    alias.symlink_to(tmp_path / "dir")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeCacheWarning)
        with runtime_cache(first, tmp_path / "dir" / "jit.bin") as outer:
            first(rows(2))
            with runtime_cache(second, alias / "jit.bin") as inner:
                assert inner is outer
                second(rows(3))
            first(rows(4))
        assert first.engine.runtime_settings.runtime_cache is not outer
    saved = kernels_in_file(tmp_path / "dir" / "jit.bin")
    assert len(saved) == 3
    assert sorted(p.name for p in (tmp_path / "dir").iterdir() if "conflict" in p.name) == []


def test_stream_round_trip_with_bytes_io(make_module, double_control) -> None:
    buffer = io.BytesIO()
    module = make_module()
    with runtime_cache(module, buffer) as rc:
        assert rc.path == ""
        module(rows(6))
    first_blob = buffer.getvalue()
    assert decode_blob(first_blob, DEFAULT_ENVIRONMENT)

    buffer.seek(0)
    other = make_module()
    with runtime_cache(other, buffer):
        other(rows(1))
        loaded = cache_kernels(double_control.contexts[-1].runtime_cache)
        assert decode_blob(first_blob, DEFAULT_ENVIRONMENT) <= loaded
    merged = decode_blob(buffer.getvalue(), DEFAULT_ENVIRONMENT)
    assert merged is not None and len(merged) == 2  # rewritten in place, not appended


def test_stream_round_trip_with_a_real_file_handle(make_module, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "stream.bin"
    module = make_module()
    with open(path, "w+b") as handle:
        with runtime_cache(module, handle) as rc:
            assert rc.path == ""
            module(rows(2))
    with open(path, "r+b") as handle:
        with runtime_cache(make_module(), handle) as rc:
            assert rc._handle.pending_size == path.stat().st_size
    assert len(kernels_in_file(path)) == 1


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes = b"") -> None:
        super().__init__(data)
        self.reads = self.writes = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)

    def write(self, data) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)


def test_stream_is_read_once_on_enter_and_written_once_on_exit(make_module) -> None:
    stream = CountingStream()
    module = make_module()
    with runtime_cache(module, stream):
        assert (stream.reads, stream.writes) == (1, 0)
        module(rows(2))
        module(rows(3))
    assert (stream.reads, stream.writes) == (1, 1)


def test_text_streams_are_rejected_before_anything_changes(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    before = module.runtime_settings
    with open(tmp_path / "t.txt", "w+") as text:
        with pytest.raises(TypeError, match="must be binary"):
            with runtime_cache(module, text):
                pytest.fail("the block must not run")
    with pytest.raises(TypeError, match="must be binary"):
        with runtime_cache(module, io.StringIO()):
            pass
    assert module.runtime_settings is before


def test_user_built_cache_shared_by_setter(make_module, double_control, tmp_path: pathlib.Path) -> None:
    rc = RuntimeCache(tmp_path / "mine.bin")
    first, second = make_module(), make_module(4.0)
    first.runtime_settings = second.runtime_settings = RuntimeSettings(runtime_cache=rc)
    first(rows(2))
    second(rows(2))
    assert rc.has_cache()
    assert rc.save() == str(tmp_path / "mine.bin")
    assert len(kernels_in_file(tmp_path / "mine.bin")) == 2


def test_separate_implicit_handles_on_one_path_keep_both_writers(make_module, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "own.bin"
    first, second = make_module(), make_module(7.0)
    for module, n in ((first, 2), (second, 3)):
        module.runtime_settings = RuntimeSettings(runtime_cache=str(path))
        module(rows(n))
    del module, first
    gc.collect()
    with pytest.warns(RuntimeCacheWarning, match="changed by another writer"):
        del second
        gc.collect()
    siblings = [p for p in tmp_path.iterdir() if p.name.endswith(".conflict")]
    assert len(siblings) == 1
    assert len(kernels_in_file(path)) == 1 and len(kernels_in_file(siblings[0])) == 1
    assert kernels_in_file(path) != kernels_in_file(siblings[0])


def test_modules_on_default_settings_share_the_default_cache(make_module, double_control) -> None:
    first, second = make_module(), make_module(6.0)
    first(rows(2))
    second(rows(2))
    assert double_control.contexts[0].runtime_cache is double_control.contexts[1].runtime_cache
