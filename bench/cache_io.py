"""Save/load throughput of a 64 MB runtime-cache blob through RuntimeCache vs raw file I/O.

RuntimeCache.save takes the file lock, checks for other writers, writes a temp file, fsyncs it,
renames it over the target and fsyncs the directory; RuntimeCache.load reads the file and
fingerprints it. "raw" writes/reads the same bytes with a plain open/write/close (no fsync).
The target is RuntimeCache at >= 50% of raw throughput. Both run in the same process, same
directory, with the page cache's dirty data flushed (untimed) before every timed run; best of N.

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


def best_seconds(action: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        # Untimed: flush dirty pages left by earlier runs, so no run pays for another's writeback.
        os.sync()
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def raw_write(path: str, blob: bytes) -> None:
    with open(path, "wb") as file:
        file.write(blob)


def raw_read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dir", default=None, help="directory for the files (default: a temp dir)")
    args = parser.parse_args()

    blob = os.urandom(args.mb << 20)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        raw_path = os.path.join(directory, "raw.bin")
        cache_path = os.path.join(directory, "cache.bin")
        cache = RuntimeCache(cache_path)
        cache.load_from_stream(io.BytesIO(blob))  # pending bytes: what save() writes
        reader = RuntimeCache(cache_path)
        raw_write(raw_path, blob)
        cache.save()

        rows = []
        for name, raw_action, cache_action in (
            ("save", lambda: raw_write(raw_path, blob), cache.save),
            ("load", lambda: raw_read(raw_path), reader.load),
        ):
            raw_s = best_seconds(raw_action, args.repeats)
            cache_s = best_seconds(cache_action, args.repeats)
            rows.append((name, args.mb / raw_s, args.mb / cache_s))

    print(f"{args.mb} MB blob, best of {args.repeats}")
    print(f"{'op':<6}{'raw MB/s':>12}{'RuntimeCache MB/s':>20}{'ratio':>9}{'target':>9}")
    for name, raw_rate, cache_rate in rows:
        ratio = cache_rate / raw_rate
        verdict = "ok" if ratio >= 0.5 else "MISS"
        print(f"{name:<6}{raw_rate:>12.0f}{cache_rate:>20.0f}{ratio:>9.2f}{verdict:>9}")


if __name__ == "__main__":
    main()
