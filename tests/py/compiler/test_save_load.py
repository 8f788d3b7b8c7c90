"""torchrtx.save / torchrtx.load: exact round trip, documented layout, one error type for bad files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import zipfile

import pytest
import torch

import torchrtx
from torchrtx import ModuleFormatError, TRTModule, _atomic_file
from torchrtx._spec import EngineSpec, InputSpec, OutputSpec
from torchrtx.runtime import RuntimeCache, RuntimeSettings

#: Plan bytes no builder would make but a file must carry unchanged: every byte value,
#: line endings and trailing zeros.
_ODD_PLAN = bytes(range(256)) * 8 + b"\r\n\n\r" + b"\x00" * 64
_SPEC = EngineSpec(
    inputs=(InputSpec("x", "float32", (1, 4), (2, 4), (8, 4)),),
    outputs=(OutputSpec("y", "float32", (-1, 4)),),
    compute_capabilities=("sm89",),
    trt_version="1.7.1",
)


@pytest.fixture
def saved_mlp(compiled_mlp, tmp_path):
    module, _ = compiled_mlp
    path = tmp_path / "mlp.trtm"
    torchrtx.save(module, path)
    return module, path


def test_round_trip_keeps_plan_bytes_and_spec(saved_mlp):
    module, path = saved_mlp
    loaded = torchrtx.load(path)
    assert loaded.serialized_engine == module.serialized_engine
    assert loaded.spec == module.spec
    assert loaded.spec.to_json() == module.spec.to_json()


def test_round_trip_keeps_any_plan_bytes(tmp_path):
    path = tmp_path / "odd.trtm"
    torchrtx.save(TRTModule(_ODD_PLAN, _SPEC), path)
    assert torchrtx.load(path).serialized_engine == _ODD_PLAN


def test_round_trip_keeps_tuple_outputs(compiled_pair, tmp_path):
    path = tmp_path / "pair.trtm"
    torchrtx.save(compiled_pair.module, str(path))
    loaded = torchrtx.load(str(path))
    assert loaded.spec.returns_tuple is True
    assert loaded.spec == compiled_pair.module.spec


def test_file_layout_matches_the_documented_format(saved_mlp):
    module, path = saved_mlp
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["manifest.json", "engine.plan"]
        assert [info.compress_type for info in archive.infolist()] == [zipfile.ZIP_STORED] * 2
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("engine.plan") == module.serialized_engine
    assert manifest["format"] == "torchrtx.trtmodule"
    assert manifest["format_version"] == 1
    assert manifest["engine"] == {
        "member": "engine.plan",
        "size": len(module.serialized_engine),
        "sha256": hashlib.sha256(module.serialized_engine).hexdigest(),
    }
    assert manifest["spec"] == json.loads(json.dumps(module.spec.to_json()))


def test_runtime_cache_is_never_stored(tmp_path):
    cache_bytes = b"JIT-KERNELS-" + os.urandom(32)
    cache = RuntimeCache()
    cache.load_from_stream(io.BytesIO(cache_bytes))
    module = TRTModule(_ODD_PLAN, _SPEC, runtime_settings=RuntimeSettings(runtime_cache=cache))
    path = tmp_path / "with_cache.trtm"
    torchrtx.save(module, path)
    assert cache_bytes not in path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["manifest.json", "engine.plan"]
    assert torchrtx.load(path).runtime_settings == RuntimeSettings()


def test_load_never_unpickles(saved_mlp, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load must not unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert torchrtx.load(saved_mlp[1]).serialized_engine == saved_mlp[0].serialized_engine


def test_failed_save_leaves_the_previous_file(compiled_mlp, compiled_pair, tmp_path, monkeypatch):
    path = tmp_path / "model.trtm"
    torchrtx.save(compiled_pair.module, path)
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_atomic_file.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        torchrtx.save(compiled_mlp[0], path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.trtm"]


def test_save_refuses_other_objects(tmp_path):
    with pytest.raises(TypeError, match="takes a TRTModule; got Linear"):
        torchrtx.save(torch.nn.Linear(2, 2), tmp_path / "x.trtm")
    assert os.listdir(tmp_path) == []


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        torchrtx.load(tmp_path / "absent.trtm")


def _rewrite(path, manifest=None, plan=None, members=None):
    """Write a zip like a module file, with some parts replaced."""
    with zipfile.ZipFile(path) as archive:
        original = {name: archive.read(name) for name in archive.namelist()}
    if manifest is not None:
        original["manifest.json"] = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    if plan is not None:
        original["engine.plan"] = plan
    with zipfile.ZipFile(path, "w") as archive:
        for name in members or original:
            archive.writestr(name, original[name])


def _manifest(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def _truncate_half(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _truncate_tail(path):
    path.write_bytes(path.read_bytes()[:-10])


def _random_bytes(path):
    path.write_bytes(random.Random(7).randbytes(4096))


def _random_after_zip_magic(path):
    path.write_bytes(b"PK\x03\x04" + random.Random(8).randbytes(4096))


def _empty(path):
    path.write_bytes(b"")


def _text_file(path):
    path.write_text("hello, this is not a model\n")


def _torch_save_file(path):
    torch.save({"weights": torch.zeros(3)}, path)


def _bytes_cut_from_the_middle(path):
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] + data[middle + 100 :])


def _deflated_members(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _encrypted_flag(path):
    data = bytearray(path.read_bytes())
    central_entry = data.index(b"PK\x01\x02")
    data[central_entry + 8] |= 0x01  # general-purpose flag bit 0: encrypted
    path.write_bytes(bytes(data))


def _manifest_size_past_the_end(path):
    data = bytearray(path.read_bytes())
    central_entry = data.index(b"PK\x01\x02")
    # Compressed and uncompressed sizes of manifest.json: 1 MB, more than the file holds.
    data[central_entry + 20 : central_entry + 28] = (1 << 20).to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))


def _future_version(path):
    _rewrite(path, manifest={**_manifest(path), "format_version": 2})


def _foreign_format(path):
    _rewrite(path, manifest={**_manifest(path), "format": "something.else"})


def _bad_version_type(path):
    _rewrite(path, manifest={**_manifest(path), "format_version": "1"})


def _flipped_plan_byte(path):
    with zipfile.ZipFile(path) as archive:
        plan = bytearray(archive.read("engine.plan"))
    plan[len(plan) // 2] ^= 0xFF
    _rewrite(path, plan=bytes(plan))


def _short_plan(path):
    with zipfile.ZipFile(path) as archive:
        plan = archive.read("engine.plan")
    _rewrite(path, plan=plan[:-1])


def _no_plan(path):
    _rewrite(path, members=["manifest.json"])


def _invalid_json(path):
    _rewrite(path, manifest=b"{not json")


def _manifest_is_a_list(path):
    _rewrite(path, manifest=b"[1, 2]")


def _spec_missing_inputs(path):
    manifest = _manifest(path)
    del manifest["spec"]["inputs"]
    _rewrite(path, manifest=manifest)


def _engine_entry_missing(path):
    manifest = _manifest(path)
    del manifest["engine"]
    _rewrite(path, manifest=manifest)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_truncate_half, "truncated or corrupt archive"),
        (_truncate_tail, "truncated or corrupt archive"),
        (_bytes_cut_from_the_middle, "truncated or corrupt archive"),
        (_manifest_size_past_the_end, "truncated or corrupt archive"),
        (_deflated_members, "manifest.json is compressed"),
        (_encrypted_flag, "manifest.json is encrypted or patched"),
        (_random_bytes, "not a torchrtx module file (starts with"),
        (_random_after_zip_magic, "truncated or corrupt archive"),
        (_empty, "not a torchrtx module file (starts with b''"),
        (_text_file, "not a torchrtx module file (starts with b'hell'"),
        (_torch_save_file, "the archive has no manifest.json member"),
        (_future_version, "written by a newer torchrtx (format version 2)"),
        (_foreign_format, "format 'something.else', expected 'torchrtx.trtmodule'"),
        (_bad_version_type, "invalid format_version '1'"),
        (_flipped_plan_byte, "engine.plan fails its checksum"),
        (_short_plan, "bytes but the manifest says"),
        (_no_plan, "the archive has no engine.plan member"),
        (_invalid_json, "manifest.json is not valid JSON"),
        (_manifest_is_a_list, "format 'list'"),
        (_spec_missing_inputs, "engine description is malformed"),
        (_engine_entry_missing, "lacks the engine size/sha256"),
    ],
)
def test_bad_file_raises_module_format_error_naming_path_and_problem(saved_mlp, damage, problem):
    _, path = saved_mlp
    damage(path)
    with pytest.raises(ModuleFormatError) as caught:
        torchrtx.load(path)
    assert isinstance(caught.value, ValueError)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in caught.value.problem


@pytest.mark.parametrize("seed", range(4))
def test_damaged_file_loads_unchanged_or_raises_module_format_error(tmp_path, seed):
    """Random cuts, insertions, bit flips and truncations: never another exception type."""
    pristine = tmp_path / "pristine.trtm"
    torchrtx.save(TRTModule(_ODD_PLAN, _SPEC), pristine)
    original = pristine.read_bytes()
    damaged = tmp_path / "damaged.trtm"
    rng = random.Random(seed)
    refused = 0
    for _ in range(100):
        data = bytearray(original)
        start = rng.randrange(len(data))
        damage = rng.choice(["cut", "insert", "flip", "truncate"])
        if damage == "cut":
            del data[start : start + rng.choice([1, 4, 100, 2000])]
        elif damage == "insert":
            data[start:start] = rng.randbytes(rng.choice([1, 4, 100]))
        elif damage == "flip":
            data[start] ^= 1 << rng.randrange(8)
        else:
            del data[start:]
        damaged.write_bytes(bytes(data))
        try:
            loaded = torchrtx.load(damaged)
        except ModuleFormatError as exc:
            assert exc.path == str(damaged)
            refused += 1
        else:
            assert loaded.serialized_engine == _ODD_PLAN, damage
    assert refused > 50
