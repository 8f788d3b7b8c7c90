"""Persistence: atomic locked writes, missing/corrupt files, failed saves, lost updates (rules 6, 9, 10)."""

from __future__ import annotations

import io
import multiprocessing
import os
import pathlib
import stat
import time

import filelock
import pytest

from support.double_cache import decode_blob, encode_blob
from support.trt_double import DEFAULT_ENVIRONMENT
from torchrtx.runtime import RuntimeCache, RuntimeCacheWarning, cache_file

_fork = multiprocessing.get_context("fork")


def cache_holding(*kernels: str, path: str = "", timeout: float = 10.0) -> RuntimeCache:
    cache = RuntimeCache(path, lock_timeout=timeout)
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, kernels)))
    return cache


def kernels_in(path: pathlib.Path | str) -> frozenset[str] | None:
    return decode_blob(pathlib.Path(path).read_bytes(), DEFAULT_ENVIRONMENT)


def leftovers(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_missing_file_loads_as_empty_and_save_creates_a_private_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "sub" / "jit.bin"
    cache = RuntimeCache(path)
    assert cache.load() is False
    assert RuntimeCache(path).save() == ""  # nothing to save: no file appears
    assert not path.exists()
    assert cache_holding("k1", path=str(path)).save() == str(path)
    assert kernels_in(path) == {"k1"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert leftovers(path.parent) == []


def test_failed_save_leaves_the_old_file_intact(tmp_path: pathlib.Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jit.bin"
    first = cache_holding("old", path=str(path))
    first.save()
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    first.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["new"])))
    with pytest.raises(OSError, match="No space left"):
        first.save()
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_unreadable_file_warns_and_loads_nothing(tmp_path: pathlib.Path) -> None:
    (tmp_path / "jit.bin").mkdir()
    cache = RuntimeCache(tmp_path / "jit.bin")
    with pytest.warns(RuntimeCacheWarning, match="cannot read"):
        assert cache.load() is False
    assert cache._handle.pending_size == 0


def test_save_after_another_writer_goes_to_a_sibling_and_warns(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("base", path=path).save()
    mine, theirs = RuntimeCache(path), RuntimeCache(path)
    mine.load()
    theirs.load()
    theirs.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "theirs"])))
    assert theirs.save() == path
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "mine"])))
    with pytest.warns(RuntimeCacheWarning, match="changed by another writer") as caught:
        written = mine.save()
    assert written.startswith(path + f".{os.getpid()}-") and written.endswith(".conflict")
    assert written in str(caught[0].message)
    assert kernels_in(path) == {"base", "theirs"}
    assert kernels_in(written) == {"base", "mine"}


def test_rewrite_with_identical_bytes_is_not_a_conflict(tmp_path: pathlib.Path, recwarn) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("base", path=path).save()
    mine = RuntimeCache(path)
    mine.load()
    time.sleep(0.01)
    cache_holding("base", path=path).save()  # another process saved the same kernels again
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "mine"])))
    assert mine.save() == path
    assert kernels_in(path) == {"base", "mine"}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeCacheWarning)]


@pytest.fixture(params=["one_chunk", "many_chunks"])
def compare_chunks(request, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with the file comparison reading the whole blob at once, and in 7-byte pieces."""
    if request.param == "many_chunks":
        monkeypatch.setattr(cache_file, "_COMPARE_CHUNK_BYTES", 7)


def test_saving_unchanged_contents_leaves_the_file_alone_so_other_writers_do_not_conflict(
        tmp_path: pathlib.Path, recwarn, compare_chunks) -> None:
    path = tmp_path / "jit.bin"
    cache_holding("base", path=str(path)).save()
    idle, busy = RuntimeCache(path), RuntimeCache(path)
    idle.load()
    busy.load()
    before = path.stat()
    assert idle.save() == str(path)  # no new kernels: nothing to write
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    busy.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "busy"])))
    assert busy.save() == str(path)
    assert kernels_in(path) == {"base", "busy"}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeCacheWarning)]


def test_a_same_size_change_by_another_writer_is_still_a_conflict(tmp_path: pathlib.Path,
                                                                  compare_chunks) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("k1", path=path).save()
    mine, theirs = RuntimeCache(path), RuntimeCache(path)
    mine.load()
    theirs.load()
    # Kernel names that differ only in their last character: equal sizes, a late difference.
    theirs.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["k" * 40 + "2"])))
    assert theirs.save() == path
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["k" * 40 + "3"])))
    assert os.path.getsize(path) == len(mine._handle.serialize())
    with pytest.warns(RuntimeCacheWarning, match="changed by another writer"):
        assert mine.save() != path
    assert kernels_in(path) == {"k" * 40 + "2"}


def test_after_finding_its_own_bytes_saved_by_another_writer_a_cache_saves_normally(
        tmp_path: pathlib.Path, recwarn) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("base", path=path).save()
    mine, theirs = RuntimeCache(path), RuntimeCache(path)
    mine.load()
    theirs.load()
    theirs.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "same"])))
    assert theirs.save() == path  # another process compiled the same kernel first
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "same"])))
    assert mine.save() == path  # the file already holds these bytes: adopted, nothing written
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["base", "same", "more"])))
    assert mine.save() == path
    assert kernels_in(path) == {"base", "same", "more"}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeCacheWarning)]


def test_an_in_place_rewrite_that_keeps_size_and_mtime_is_still_a_change(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "jit.bin"
    cache_holding("k1", path=str(path)).save()
    mine = RuntimeCache(path)
    mine.load()
    before = path.stat()
    time.sleep(0.01)
    with open(path, "r+b") as file:  # same inode and size; only the change time tells
        file.write(encode_blob(DEFAULT_ENVIRONMENT, ["k2"]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    mine.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["k1", "mine"])))
    with pytest.warns(RuntimeCacheWarning, match="changed by another writer"):
        assert mine.save() != str(path)
    assert kernels_in(path) == {"k2"}


def test_never_loaded_cache_does_not_overwrite_an_existing_file(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("existing", path=path).save()
    with pytest.warns(RuntimeCacheWarning):
        written = cache_holding("fresh", path=path).save()
    assert written != path
    assert kernels_in(path) == {"existing"}


def _hold_lock(path: str, locked, release) -> None:
    with filelock.FileLock(path + ".lock"):
        locked.set()
        release.wait(30)


def test_lock_timeout_warns_and_skips_without_hanging(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "jit.bin")
    cache_holding("old", path=path).save()
    locked, release = _fork.Event(), _fork.Event()
    holder = _fork.Process(target=_hold_lock, args=(path, locked, release))
    holder.start()
    try:
        assert locked.wait(10)
        cache = RuntimeCache(path, lock_timeout=0.3)
        cache.load()
        cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["new"])))
        started = time.monotonic()
        with pytest.warns(RuntimeCacheWarning, match="locked by another process"):
            assert cache.save() == ""
        assert time.monotonic() - started < 3
        assert kernels_in(path) == {"old"}
    finally:
        release.set()
        holder.join(10)
    assert cache.save() == path  # once the lock is free the same cache saves normally
    assert kernels_in(path) == {"new"}


def _kernels(worker: int, round_index: int) -> frozenset[str]:
    return frozenset(f"w{worker}-r{round_index}-{i}" for i in range(50 + 37 * worker + round_index))


def _saver(path: str, worker: int, rounds: int, results) -> None:
    import warnings

    warnings.simplefilter("ignore")
    for round_index in range(rounds):
        cache = RuntimeCache(path, lock_timeout=60)
        cache.load()
        cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, _kernels(worker, round_index))))
        results.put((worker, round_index, cache.save()))


def test_four_processes_saving_concurrently_never_tear_or_corrupt_the_file(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "jit.bin")
    rounds = 25
    results = _fork.Queue()
    workers = [_fork.Process(target=_saver, args=(path, w, rounds, results)) for w in range(4)]
    for process in workers:
        process.start()
    reads = 0
    while any(p.is_alive() for p in workers):
        if os.path.exists(path):
            assert kernels_in(path) is not None, "a reader saw a torn or corrupt cache file"
            reads += 1
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    outcomes = [results.get(timeout=5) for _ in range(4 * rounds)]
    written = [target for _, _, target in outcomes]
    assert all(written), "no save was skipped with a 60 s lock timeout"
    assert reads > 0
    # Every diverted save has its own sibling holding exactly its kernels; the main file holds
    # exactly the kernels of one save that went there.
    siblings = [(w, r, t) for w, r, t in outcomes if t != path]
    assert len({t for _, _, t in siblings}) == len(siblings)
    for worker, round_index, target in siblings:
        assert kernels_in(target) == _kernels(worker, round_index)
    main_candidates = [_kernels(w, r) for w, r, t in outcomes if t == path]
    assert kernels_in(path) in main_candidates
    assert leftovers(tmp_path) == []
