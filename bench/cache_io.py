"""Save/load throughput of a 64 MB runtime-cache blob through RuntimeCache vs raw file I/O.

RuntimeCache.save takes the file lock, checks that no other writer changed the file, writes a
temp file, fsyncs it, renames it over the target and fsyncs the directory; RuntimeCache.load
reads the file and records its identity. "raw" is what a user would write by hand for the
same bytes: ``open(path, "wb").write(blob)`` and ``open(path, "rb").read()``, with no fsync.
Each save writes contents that differ from the file's (the cache alternates between the blob
and the blob plus 4 KB of new kernels, and raw writes the same bytes), because RuntimeCache
writes nothing when the file already holds what it would save.
The target is RuntimeCache at >= 50% of raw throughput. A "raw + fsync" row is printed for
reference only: it shows how much of the gap is the durability RuntimeCache pays for.
Everything runs in one process and directory; dirty pages are flushed (untimed) and background
work is allowed to finish before every timed run; best of N.

    python bench/cache_io.py [--mb 64] [--repeats 7] [--dir DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable

from torchrtx.runtime import RuntimeCache


def best_seconds(action: Callable[[], object], repeats: int,
                 prepare: Callable[[int], object] | None = None) -> float:
    """Shortest wall time of ``repeats`` runs of ``action``, each started with no dirty pages pending.

    ``prepare(run_index)``, if given, runs untimed before each run.
    """
    best = float("inf")
    for run in range(repeats):
        if prepare is not None:
            prepare(run)
        os.sync()
        time.sleep(0.2)  # untimed: lets any background work of the previous run finish
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def raw_write(path: str, blob: bytes) -> None:
    """Write ``blob`` the way a user would by hand (no fsync)."""
    with open(path, "wb") as file:
        file.write(blob)


def raw_write_fsync(path: str, blob: bytes) -> None:
    """Write ``blob`` and fsync it: the durability cost alone, without lock, temp file or rename."""
    with open(path, "wb") as file:
        file.write(blob)
        file.flush()
        os.fsync(file.fileno())


def raw_read(path: str) -> bytes:
    """Read the whole file the way a user would by hand."""
    with open(path, "rb") as file:
        return file.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dir", default=None, help="directory for the files (default: a temp dir)")
    args = parser.parse_args()

    blob = os.urandom(args.mb << 20)
    versions = (blob, blob + os.urandom(4096))  # consecutive saves always change the contents
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        raw_path = os.path.join(directory, "raw.bin")
        cache_path = os.path.join(directory, "cache.bin")
        cache = RuntimeCache(cache_path)
        reader = RuntimeCache(cache_path)
        current: list[bytes] = []

        def next_version(run: int) -> None:
            current[:] = [versions[run % 2]]
            cache.load_from_stream(io.BytesIO(current[0]))  # pending bytes: what save() writes

        next_version(1)
        raw_write(raw_path, current[0])
        cache.save()

        raw_save_s = best_seconds(lambda: raw_write(raw_path, current[0]), args.repeats, next_version)
        fsync_save_s = best_seconds(lambda: raw_write_fsync(raw_path, current[0]), args.repeats, next_version)
        cache_save_s = best_seconds(cache.save, args.repeats, next_version)
        raw_load_s = best_seconds(lambda: raw_read(raw_path), args.repeats)
        cache_load_s = best_seconds(reader.load, args.repeats)

    def rate(seconds: float) -> float:
        return args.mb / seconds

    print(f"{args.mb} MB blob, best of {args.repeats}; raw = plain open/write/close, no fsync")
    print(f"{'op':<6}{'raw MB/s':>12}{'RuntimeCache MB/s':>20}{'ratio':>9}{'target':>9}"
          f"{'raw+fsync MB/s (ref)':>24}")
    for name, raw_s, cache_s, reference in (
        ("save", raw_save_s, cache_save_s, f"{rate(fsync_save_s):>24.0f}"),
        ("load", raw_load_s, cache_load_s, f"{'-':>24}"),
    ):
        ratio = raw_s / cache_s
        verdict = "ok" if ratio >= 0.5 else "MISS"
        print(f"{name:<6}{rate(raw_s):>12.0f}{rate(cache_s):>20.0f}{ratio:>9.2f}{verdict:>9}{reference}")


if __name__ == "__main__":
    main()
