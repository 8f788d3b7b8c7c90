"""Tensor views over raw addresses, so the double really reads and writes what the engine bound.

The double gets only integers from ``set_tensor_address`` (like the real API). It
turns each one back into a tensor over that memory: a ctypes buffer on the CPU,
``__cuda_array_interface__`` on CUDA. A wrong address binding therefore produces
wrong results, not a silently correct answer.
"""

from __future__ import annotations

import ctypes
import math

import torch

__all__ = ["tensor_at"]


class _CudaBytes:
    """Just enough of ``__cuda_array_interface__`` to wrap ``nbytes`` of device memory at ``address``."""

    def __init__(self, address: int, nbytes: int) -> None:
        self.__cuda_array_interface__ = {
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (address, False),
            "version": 2,
            "strides": None,
        }


def tensor_at(address: int, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A tensor of ``shape``/``dtype`` whose storage is the memory at ``address`` on ``device``."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    nbytes = math.prod(shape) * itemsize
    if nbytes == 0:
        return torch.empty(shape, dtype=dtype, device=device)
    if address == 0:
        raise ValueError("null address bound for a non-empty tensor")
    if device.type == "cpu":
        raw = torch.frombuffer((ctypes.c_ubyte * nbytes).from_address(address), dtype=torch.uint8)
    elif device.type == "cuda":
        raw = torch.as_tensor(_CudaBytes(address, nbytes), device=device)
    else:
        raise ValueError(f"the double cannot address memory on {device}")
    return raw.view(dtype).view(shape)
