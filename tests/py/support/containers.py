"""Plain container modules that hold compiled engines, as users build them."""

from __future__ import annotations

import torch


class Pair(torch.nn.Module):
    """A container whose forward runs two engines back to back."""

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))
