"""Saved module files never carry runtime-cache bytes; a loaded module starts on default settings (rule 6)."""

from __future__ import annotations

import pathlib
import zipfile

import torchrtx
from runtime_settings._helpers import rows
from support.double_cache import decode_blob
from support.trt_double import DEFAULT_ENVIRONMENT
from torchrtx.runtime import RuntimeSettings, runtime_cache


def test_saved_module_holds_no_cache_bytes(make_module, tmp_path: pathlib.Path) -> None:
    module = make_module()
    cache_path, module_path = tmp_path / "jit.bin", tmp_path / "model.trtm"
    with runtime_cache(module, cache_path):
        module(rows(5))
        torchrtx.save(module, module_path)
    cache_blob = cache_path.read_bytes()
    assert decode_blob(cache_blob, DEFAULT_ENVIRONMENT), "the block recorded kernels to compare against"
    saved = module_path.read_bytes()
    assert cache_blob not in saved
    with zipfile.ZipFile(module_path) as archive:
        assert all(cache_blob not in archive.read(name) for name in archive.namelist())
    loaded = torchrtx.load(module_path)
    assert loaded.runtime_settings == RuntimeSettings()
