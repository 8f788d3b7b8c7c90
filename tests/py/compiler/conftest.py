"""Models compiled once per session: every export takes seconds, so tests share them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import torchrtx
from torchrtx.runtime.settings import RuntimeSettings

REPO_ROOT = Path(__file__).resolve().parents[3]


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + MLP over (batch, tokens, width)."""

    def __init__(self, width: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        normed = self.norm1(tokens)
        tokens = tokens + self.attention(normed, normed, normed, need_weights=False)[0]
        return tokens + self.mlp(self.norm2(tokens))


class PairModel(nn.Module):
    """Two inputs sharing a batch dim, two outputs; has dropout so train mode is observable."""

    def __init__(self) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.proj = nn.Linear(16, 16)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mixed = self.proj(self.dropout(left)) + right
        return mixed, left * right


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class PairCompile:
    """The PairModel compile: module, the model object afterwards, the hint and the log lines."""

    module: torchrtx.TRTModule
    model: PairModel
    settings: RuntimeSettings
    log_messages: list[str]


@pytest.fixture(scope="session")
def compiled_transformer_fp16() -> torchrtx.TRTModule:
    """TransformerBlock with one static float16 input (2, 8, 32)."""
    torch.manual_seed(0)
    model = TransformerBlock().half()
    return torchrtx.compile(model, [torchrtx.Input(shape=(2, 8, 32), dtype=torch.float16)])


@pytest.fixture(scope="session")
def compiled_pair() -> PairCompile:
    """PairModel compiled in train mode for two capabilities with a runtime-settings hint.

    Both inputs are (1..8, 16) with opt batch 1, which torch.export cannot trace as dynamic
    by itself; the log lines of the ``torchrtx.compiler`` logger are kept.
    """
    model = PairModel().train()
    settings = RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="eager", runtime_cache=None)
    records = _Records()
    logger = logging.getLogger("torchrtx.compiler")
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(records)
    try:
        spec = torchrtx.Input(min_shape=(1, 16), opt_shape=(1, 16), max_shape=(8, 16))
        module = torchrtx.compile(
            model, [spec, spec], compute_capabilities=["SM89", "sm120", "sm89"], runtime_settings=settings
        )
    finally:
        logger.removeHandler(records)
        logger.setLevel(previous_level)
    return PairCompile(module=module, model=model, settings=settings, log_messages=records.messages)


@dataclass
class CliRun:
    """One ``python -m torchrtx compile`` run of the example model."""

    process: subprocess.CompletedProcess[str]
    output: Path


@pytest.fixture(scope="session")
def convnet_cli_run(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """``python -m torchrtx compile examples/convnet.py:make_model`` run once as a user would."""
    output = tmp_path_factory.mktemp("cli") / "convnet.trtm"
    command = [
        sys.executable,
        "-m",
        "torchrtx",
        "compile",
        "examples/convnet.py:make_model",
        "--input",
        "images=1-4-8x3x32x32",
        "--capabilities",
        "sm89,sm120",
        "-o",
        str(output),
    ]
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path_factory.mktemp("cli_cache")))
    process = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return CliRun(process=process, output=output)
