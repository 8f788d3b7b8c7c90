"""The default cache lives in a private per-user directory: 0700, owner checked, no symlinks (rule 10)."""

from __future__ import annotations

import io
import os
import pathlib
import stat

import pytest

from support.double_cache import encode_blob
from support.trt_double import DEFAULT_ENVIRONMENT
from torchrtx.runtime import RuntimeCache
from torchrtx.runtime.cache_dir import UnsafeCacheDirError, default_cache_dir, default_cache_path


def filled_default_cache() -> RuntimeCache:
    cache = RuntimeCache(default_cache_path())
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["k"])))
    return cache


def test_default_path_is_under_the_user_cache_home() -> None:
    assert default_cache_dir() == os.path.join(os.environ["XDG_CACHE_HOME"], "torchrtx")


def test_first_save_creates_the_directory_with_mode_0700() -> None:
    assert not os.path.exists(default_cache_dir())
    old = os.umask(0o000)  # even the most permissive umask must not widen the directory
    try:
        assert filled_default_cache().save() == default_cache_path()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(default_cache_dir()).st_mode) == 0o700


def test_a_symlinked_default_directory_is_refused(tmp_path: pathlib.Path) -> None:
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    os.makedirs(os.path.dirname(default_cache_dir()), exist_ok=True)
    os.symlink(elsewhere, default_cache_dir())
    with pytest.raises(UnsafeCacheDirError, match="symbolic link"):
        filled_default_cache().save()
    with pytest.raises(UnsafeCacheDirError, match="symbolic link"):
        RuntimeCache(default_cache_path()).load()
    assert list(elsewhere.iterdir()) == []


def test_a_directory_owned_by_someone_else_is_refused() -> None:
    os.makedirs(default_cache_dir(), mode=0o700)
    if os.getuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    os.chown(default_cache_dir(), 54321, -1)
    with pytest.raises(UnsafeCacheDirError, match="owned by uid 54321"):
        filled_default_cache().save()


def test_loose_permissions_on_own_directory_are_tightened() -> None:
    os.makedirs(default_cache_dir())
    os.chmod(default_cache_dir(), 0o777)
    filled_default_cache().save()
    assert stat.S_IMODE(os.stat(default_cache_dir()).st_mode) == 0o700


def test_explicit_paths_are_not_subject_to_the_private_dir_rules(tmp_path: pathlib.Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    linked = tmp_path / "link"
    os.symlink(shared, linked)
    cache = RuntimeCache(linked / "jit.bin")
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["k"])))
    assert cache.save() == str(linked / "jit.bin")
    assert (shared / "jit.bin").exists()
