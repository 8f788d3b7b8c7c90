"""A small image classifier mixing convolutions and self-attention, used by the README and tests.

Compile it from the shell (no GPU needed)::

    python -m torchrtx compile examples/convnet.py:make_model --input images=1-4-8x3x32x32 -o convnet.trtm
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvAttentionNet", "make_model"]


class ConvAttentionNet(nn.Module):
    """Conv stem (downsample by 4) → one pre-norm transformer block over the pixels → linear classifier.

    Takes ``images`` of shape (batch, 3, H, W) with H and W divisible by 4; returns (batch, classes) logits.
    """

    def __init__(self, channels: int = 32, heads: int = 4, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(channels),
            nn.GELU(),
            nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(channels),
            nn.GELU(),
        )
        self.attention_norm = nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(channels)
        self.mlp = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )
        self.classifier = nn.Linear(channels, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.stem(images).flatten(2).transpose(1, 2)
        normed = self.attention_norm(tokens)
        tokens = tokens + self.attention(normed, normed, normed, need_weights=False)[0]
        tokens = tokens + self.mlp(self.mlp_norm(tokens))
        return self.classifier(tokens.mean(dim=1))


def make_model() -> ConvAttentionNet:
    """A ConvAttentionNet with fixed random weights, in eval mode."""
    torch.manual_seed(0)
    return ConvAttentionNet().eval()
