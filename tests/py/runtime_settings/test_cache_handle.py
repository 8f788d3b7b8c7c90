"""_RuntimeCacheHandle and the RuntimeCache facade: pending bytes, atomic drain, threads (rule 5)."""

from __future__ import annotations

import io
import threading
import time

import pytest

from support.double_cache import decode_blob, encode_blob
from support.trt_double import DEFAULT_ENVIRONMENT, cache_kernels
from torchrtx.runtime import RuntimeCache
from torchrtx.runtime.cache_handle import (
    RuntimeCacheHandleProtocol,
    RuntimeCacheRejectedWarning,
    _RuntimeCacheHandle,
)


class SlowConfig:
    """Stands in for IRuntimeConfig: counts caches created and is slow at it, to widen races."""

    def __init__(self, double_backend) -> None:
        self._cache_type = double_backend.IRuntimeCache
        self.created = 0

    def create_runtime_cache(self):
        self.created += 1
        time.sleep(0.02)
        return self._cache_type(DEFAULT_ENVIRONMENT)


def test_python_handle_satisfies_the_protocol_and_facade_is_not_cpp() -> None:
    assert isinstance(_RuntimeCacheHandle(), RuntimeCacheHandleProtocol)
    assert RuntimeCache().is_cpp_runtime() is False


def test_bytes_loaded_before_materialization_wait_then_drain_into_the_backend(double_backend) -> None:
    blob = encode_blob(DEFAULT_ENVIRONMENT, ["k1", "k2"])
    cache = RuntimeCache()
    assert cache.load_from_stream(io.BytesIO(blob)) is True
    assert not cache.has_cache()
    assert cache._handle.pending_size == len(blob)
    assert cache.save_to_stream(out := io.BytesIO()) == len(blob)
    assert out.getvalue() == blob

    config = SlowConfig(double_backend)
    backend_cache = cache.ensure_materialized(config)
    assert cache.has_cache()
    assert cache._handle.pending_size == 0
    assert cache_kernels(backend_cache) == {"k1", "k2"}
    assert cache.ensure_materialized(config) is backend_cache
    assert config.created == 1


def test_concurrent_materialization_creates_one_backend_cache(double_backend) -> None:
    cache = RuntimeCache()
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["warm"])))
    config = SlowConfig(double_backend)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(cache.ensure_materialized(config))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert config.created == 1
    assert len({id(r) for r in results}) == 1
    assert cache_kernels(results[0]) == {"warm"}


def _read_repeatedly(cache: RuntimeCache, into: list[bytes]) -> None:
    into.extend(cache._handle.serialize() for _ in range(50))


def test_serialize_during_drain_sees_whole_state(double_backend) -> None:
    # A reader racing the first materialization gets either the pending blob or the drained cache,
    # never an empty in-between state.
    blob = encode_blob(DEFAULT_ENVIRONMENT, ["a", "b", "c"])
    for _ in range(20):
        cache = RuntimeCache()
        cache.load_from_stream(io.BytesIO(blob))
        seen: list[bytes] = []
        reader = threading.Thread(target=_read_repeatedly, args=(cache, seen))
        reader.start()
        cache.ensure_materialized(SlowConfig(double_backend))
        reader.join()
        assert all(decode_blob(b, DEFAULT_ENVIRONMENT) == {"a", "b", "c"} for b in seen)


def test_no_engine_gets_the_backend_cache_before_the_pending_bytes_are_in_it(double_backend) -> None:
    class SlowLoadingCache(double_backend.IRuntimeCache):
        def deserialize(self, blob):
            time.sleep(0.05)  # widens the window between creating the cache and filling it
            return super().deserialize(blob)

    class Config:
        def create_runtime_cache(self):
            return SlowLoadingCache(DEFAULT_ENVIRONMENT)

    cache = RuntimeCache()
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["warm"])))
    seen: list[frozenset[str]] = []
    barrier = threading.Barrier(4)

    def engine() -> None:
        barrier.wait()
        seen.append(frozenset(cache_kernels(cache.ensure_materialized(Config()))))

    threads = [threading.Thread(target=engine) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [frozenset({"warm"})] * 4


def test_foreign_pending_blob_warns_at_drain_and_starts_empty(double_backend) -> None:
    cache = RuntimeCache()
    cache.load_from_stream(io.BytesIO(encode_blob("another-gpu", ["k"])))
    with pytest.warns(RuntimeCacheRejectedWarning, match="rejected"):
        backend_cache = cache.ensure_materialized(SlowConfig(double_backend))
    assert cache_kernels(backend_cache) == frozenset()


def test_corrupt_blob_into_materialized_cache_warns_and_keeps_contents(double_backend) -> None:
    cache = RuntimeCache()
    cache.load_from_stream(io.BytesIO(encode_blob(DEFAULT_ENVIRONMENT, ["keep"])))
    backend_cache = cache.ensure_materialized(SlowConfig(double_backend))
    with pytest.warns(RuntimeCacheRejectedWarning):
        assert cache.load_from_stream(io.BytesIO(b"garbage" * 10)) is False
    assert cache_kernels(backend_cache) == {"keep"}


def test_text_streams_are_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="must be binary"):
        RuntimeCache().load_from_stream(io.StringIO("x"))
    with pytest.raises(TypeError, match="must be binary"):
        RuntimeCache().save_to_stream(io.StringIO())


def test_path_methods_without_a_path_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="load_from_stream"):
        RuntimeCache().load()
    with pytest.raises(ValueError, match="no path"):
        RuntimeCache().save()
