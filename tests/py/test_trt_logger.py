"""The shared TensorRT logger: one per backend, forwarded to Python logging, errors collected on demand."""

from __future__ import annotations

import logging

import torch

from support.double_plans import synthetic_module
from torchrtx._backend import builder_backend
from torchrtx._spec import InputSpec
from torchrtx._trt_logger import collect_errors, trt_logger


def test_one_logger_per_backend_module(double_backend) -> None:
    real = builder_backend()
    assert trt_logger(real) is trt_logger(real)
    assert trt_logger(double_backend) is trt_logger(double_backend)
    assert trt_logger(double_backend) is not trt_logger(real)


def test_messages_reach_python_logging_at_matching_levels(double_backend, caplog) -> None:
    logger = trt_logger(double_backend)
    severity = double_backend.ILogger.Severity
    with caplog.at_level(logging.DEBUG, logger="torchrtx.tensorrt"):
        logger.log(severity.ERROR, "bad plan")
        logger.log(severity.WARNING, "slow path")
        logger.log(severity.INFO, "chatty")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "bad plan"),
        (logging.WARNING, "slow path"),
        (logging.DEBUG, "chatty"),
    ]


def test_errors_are_collected_only_inside_the_block(double_backend, caplog) -> None:
    logger = trt_logger(double_backend)
    severity = double_backend.ILogger.Severity
    with caplog.at_level(logging.DEBUG, logger="torchrtx.tensorrt"):
        logger.log(severity.ERROR, "before")
        with collect_errors(double_backend) as errors:
            logger.log(severity.WARNING, "not an error")
            logger.log(severity.INTERNAL_ERROR, "inside")
        logger.log(severity.ERROR, "after")
    assert errors == ["inside"]
    # Collected errors travel in the caller's exception, so they are not logged as errors too.
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "before"),
        (logging.WARNING, "not an error"),
        (logging.DEBUG, "inside"),
        (logging.ERROR, "after"),
    ]


def test_the_runtime_gets_the_shared_logger(double_backend) -> None:
    module = synthetic_module(torch.relu, [InputSpec("x", "float32", (1, 4), (2, 4), (4, 4))])
    module(torch.randn(2, 4))
    assert module.engine._backend_runtime._logger is trt_logger(double_backend)
