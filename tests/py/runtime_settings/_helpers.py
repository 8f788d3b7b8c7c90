"""Shared helpers for runtime-settings tests."""

from __future__ import annotations

import torch

from torchrtx._spec import InputSpec

#: The input of modules made by the ``make_module`` fixture: 1..16 rows of 4 floats.
DYNAMIC_ROWS = InputSpec("x", "float32", (1, 4), (4, 4), (16, 4))


def rows(n: int) -> torch.Tensor:
    """An input of ``n`` rows for modules made by ``make_module``."""
    return torch.arange(n * 4, dtype=torch.float32).reshape(n, 4)


def knobs(record) -> tuple[str | None, str | None]:
    """(kernel strategy, CUDA-graph strategy) a double context record saw."""
    return record.kernel_strategy, record.cuda_graph_strategy
