"""The double's own contract: plans, address-driven execution, capturability and its runtime-cache blobs."""

from __future__ import annotations

import struct
import zlib

import pytest
import torch

from support.double_cache import BLOB_MAGIC, encode_blob
from support.double_plans import synthetic_module
from support.trt_double import cache_kernels, control_of, make_double
from torchrtx._spec import InputSpec

X = InputSpec("x", "float32", (1, 4), (2, 4), (8, 4))


@pytest.fixture
def engine_and_double():
    double = make_double()
    module = synthetic_module(lambda x: x + 1, [X])
    engine = double.Runtime(double.Logger()).deserialize_cuda_engine(module.serialized_engine)
    return engine, double


def test_unregistered_plan_deserializes_to_none_and_logs() -> None:
    double = make_double()
    logger = double.Logger()
    assert double.Runtime(logger).deserialize_cuda_engine(b"garbage") is None
    assert logger._messages and logger._messages[0][0] is double.Logger.ERROR


def test_execute_refuses_unset_shapes_or_addresses(engine_and_double) -> None:
    engine, _ = engine_and_double
    context = engine.create_execution_context(engine.create_runtime_config())
    assert context.execute_async_v3(0) is False
    x = torch.ones(2, 4)
    assert context.set_input_shape("x", (2, 4))
    context.set_tensor_address("x", x.data_ptr())
    assert context.execute_async_v3(0) is False
    out = torch.zeros(2, 4)
    context.set_tensor_address("output0", out.data_ptr())
    assert context.execute_async_v3(0) is True
    torch.testing.assert_close(out, torch.full((2, 4), 2.0))


def test_shapes_outside_profile_and_unknown_names_are_refused(engine_and_double) -> None:
    engine, _ = engine_and_double
    context = engine.create_execution_context()
    assert context.set_input_shape("x", (9, 4)) is False
    assert context.set_input_shape("nope", (2, 4)) is False
    assert context.set_tensor_address("nope", 1) is False
    assert context.get_tensor_shape("output0") == (-1, 4)
    context.set_input_shape("x", (3, 4))
    assert context.get_tensor_shape("output0") == (3, 4)


def test_knob_setters_take_only_the_real_enums(engine_and_double) -> None:
    engine, double = engine_and_double
    config = engine.create_runtime_config()
    with pytest.raises(TypeError):
        config.cuda_graph_strategy = "whole_graph_capture"
    with pytest.raises(TypeError):
        config.set_runtime_cache(object())
    config.cuda_graph_strategy = double.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
    engine.create_execution_context(config)
    assert control_of(double).contexts[-1].cuda_graph_strategy == "whole_graph_capture"


def test_stream_capturable_rule_and_override(engine_and_double) -> None:
    engine, double = engine_and_double
    context = engine.create_execution_context()
    assert context.is_stream_capturable(0) is False
    assert context.is_stream_capturable(0x1234) is True
    control_of(double).stream_capturable = False
    assert context.is_stream_capturable(0x1234) is False


def _run(engine, config, batch: int) -> None:  # noqa: ANN001
    context = engine.create_execution_context(config)
    x, out = torch.ones(batch, 4), torch.empty(batch, 4)
    context.set_input_shape("x", (batch, 4))
    context.set_tensor_address("x", x.data_ptr())
    context.set_tensor_address("output0", out.data_ptr())
    assert context.execute_async_v3(0)


@pytest.mark.parametrize(("strategy", "kernels"), [("LAZY", 2), ("EAGER", 2), ("NONE", 0)])
def test_cache_records_one_kernel_per_shape_unless_strategy_none(
    engine_and_double, strategy, kernels
) -> None:
    engine, double = engine_and_double
    config = engine.create_runtime_config()
    cache = config.create_runtime_cache()
    config.set_runtime_cache(cache)
    config.dynamic_shapes_kernel_specialization_strategy = getattr(
        double.DynamicShapesKernelSpecializationStrategy, strategy
    )
    for batch in (2, 3, 2):
        _run(engine, config, batch)
    assert len(cache_kernels(cache)) == kernels


def _filled_cache(engine_and_double):  # noqa: ANN001, ANN202
    engine, _ = engine_and_double
    config = engine.create_runtime_config()
    cache = config.create_runtime_cache()
    config.set_runtime_cache(cache)
    _run(engine, config, 2)
    return config, cache


def test_cache_blob_round_trips(engine_and_double) -> None:
    config, cache = _filled_cache(engine_and_double)
    blob = cache.serialize()
    assert blob.nbytes == len(bytes(blob)) and bytes(blob).startswith(BLOB_MAGIC)
    fresh = config.create_runtime_cache()
    assert fresh.deserialize(blob) is True
    assert cache_kernels(fresh) == cache_kernels(cache) != frozenset()
    assert fresh.reset() is True and cache_kernels(fresh) == frozenset()


def _flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 0xFF])


def _with_valid_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def _other_version(blob: bytes) -> bytes:
    body = blob[:-4]
    return _with_valid_crc(body[: len(BLOB_MAGIC)] + struct.pack("<I", 2) + body[len(BLOB_MAGIC) + 4 :])


def _trailing_bytes(blob: bytes) -> bytes:
    return _with_valid_crc(blob[:-4] + b"\x05\x00\x00\x00")


@pytest.mark.parametrize(
    "make_blob",
    [
        lambda blob: b"",
        lambda blob: blob[:-7],
        _flip_last_byte,
        lambda blob: blob[:20] + b"X" + blob[21:],
        lambda blob: encode_blob("another-gpu/driver", ["k"]),
        _other_version,
        _trailing_bytes,
    ],
    ids=[
        "empty",
        "truncated",
        "bad-crc",
        "corrupt-body",
        "foreign-environment",
        "other-version",
        "trailing-bytes",
    ],
)
def test_rejected_blob_returns_false_and_leaves_cache_unchanged(engine_and_double, make_blob) -> None:
    _, cache = _filled_cache(engine_and_double)
    before = cache_kernels(cache)
    assert cache.deserialize(make_blob(bytes(cache.serialize()))) is False
    assert cache_kernels(cache) == before


def test_environment_mismatch_between_doubles(engine_and_double) -> None:
    _, cache = _filled_cache(engine_and_double)
    other = make_double()
    control_of(other).environment = "trt-double/other-driver"
    module = synthetic_module(lambda x: x, [X])
    other_engine = other.Runtime(other.Logger()).deserialize_cuda_engine(module.serialized_engine)
    foreign = other_engine.create_runtime_config().create_runtime_cache()
    assert foreign.deserialize(cache.serialize()) is False
