"""torchrtx._atomic_file.atomic_replace: old file or new file, never a torn one, never a stray temp."""

from __future__ import annotations

import os
import stat

import pytest

from torchrtx import _atomic_file
from torchrtx._atomic_file import atomic_replace


def test_success_replaces_the_content_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with atomic_replace(str(path)) as out:
        out.write(b"new content")
        assert path.read_bytes() == b"old"  # readers see the old file until the block ends
    assert path.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["data.bin"]


@pytest.mark.parametrize("error", [KeyError, KeyboardInterrupt])
def test_exception_inside_keeps_the_old_content_and_removes_the_temp_file(tmp_path, error):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with pytest.raises(error, match="boom"), atomic_replace(str(path)) as out:
        out.write(b"half written")
        raise error("boom")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_failed_rename_keeps_the_old_content_and_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError("read-only file system")

    monkeypatch.setattr(_atomic_file.os, "replace", refuse)
    with pytest.raises(OSError, match="read-only"), atomic_replace(str(path)) as out:
        out.write(b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_missing_directory_names_the_target_not_the_temp_file(tmp_path):
    path = tmp_path / "absent" / "data.bin"
    with pytest.raises(FileNotFoundError) as caught, atomic_replace(str(path)):
        pass
    assert str(caught.value) == f"[Errno 2] cannot write {path}: no such directory: '{path.parent}'"


def test_new_file_is_created_private(tmp_path):
    path = tmp_path / "fresh.bin"
    with atomic_replace(str(path)) as out:
        out.write(b"x")
    assert path.read_bytes() == b"x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_is_synced_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(_atomic_file.os, "fsync", fsync)
    monkeypatch.setattr(_atomic_file.os, "replace", replace)
    with atomic_replace(str(tmp_path / "data.bin")) as out:
        out.write(b"x")
    assert events == ["fsync file", "replace", "fsync dir"]
