"""Per-call latency: eager forward vs enable_cudagraphs replay, for a container of 4 small engines.

The engines run on the TensorRT-RTX runtime double, whose engine bodies are real torch CUDA
kernels (Linear + GELU each), so the graph capture and replay are real; the numbers are NOT
TensorRT-RTX hardware results: the eager row includes the double's Python work per engine,
which real TensorRT-RTX does not have. The plain-torch row runs the same math without any
engine, as a floor for what eager launching costs.

    PYTHONPATH=py python bench/cudagraphs.py [--calls 2000] [--repeats 7] [--batch 8] [--width 256]

Without a CUDA device it says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "py"))

from support.double_plans import synthetic_module  # noqa: E402
from support.trt_double import admit_current_gpu, make_double  # noqa: E402
from torchrtx._backend import use_backend  # noqa: E402
from torchrtx._spec import InputSpec  # noqa: E402
from torchrtx.runtime import enable_cudagraphs, runtime_config  # noqa: E402

N_ENGINES = 4


def _per_call_us(fn: Callable[[], object], calls: int, repeats: int) -> float:
    for _ in range(max(calls // 10, 10)):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def _measure(calls: int, repeats: int, batch: int, width: int) -> dict[str, float]:
    torch.manual_seed(0)
    layers = [torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.GELU()).cuda().eval()
              for _ in range(N_ENGINES)]
    x_spec = InputSpec("x", "float32", (1, width), (batch, width), (max(batch, 64), width))
    engines = torch.nn.Sequential(*(synthetic_module(layer, [x_spec]) for layer in layers))
    plain = torch.nn.Sequential(*layers)
    x = torch.randn(batch, width, device="cuda")
    with runtime_config(engines, dynamic_shapes_kernel_specialization_strategy="eager", runtime_cache=None):
        eager_us = _per_call_us(lambda: engines(x), calls, repeats)
        with torch.inference_mode():
            plain_us = _per_call_us(lambda: plain(x), calls, repeats)
        with enable_cudagraphs(engines) as wrapped:
            torch.testing.assert_close(wrapped(x), engines(x))
            replay_us = _per_call_us(lambda: wrapped(x), calls, repeats)
            if wrapped.eager_reason is not None or wrapped.num_captures != 1:
                raise SystemExit(f"expected one capture and replays, got: {wrapped.eager_reason}")
    return {"eager": eager_us, "replay": replay_us, "plain": plain_us}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--width", type=int, default=256)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench/cudagraphs.py: no CUDA device is visible (torch.cuda.is_available() is False); "
              "CUDA graphs need one, so nothing was measured. Run it on a machine with a CUDA GPU.")
        return 0
    admit_current_gpu()
    with use_backend(make_double("tensorrt_rtx", device="cuda")):
        us = _measure(args.calls, args.repeats, args.batch, args.width)
    print(f"{N_ENGINES} engines (Linear {args.width}x{args.width} + GELU each, batch {args.batch}) on the "
          f"TensorRT-RTX runtime double, CUDA kernels on {torch.cuda.get_device_name()}")
    print(f"median of {args.repeats} runs x {args.calls} calls, one process; "
          "not a TensorRT-RTX hardware result")
    print(f"{'mode':<40}{'per call µs':>12}{'vs eager forward':>18}")
    rows = [
        ("eager forward (TRTModule x4)", us["eager"]),
        ("enable_cudagraphs replay (+ output clone)", us["replay"]),
        ("plain torch eager, same math, no engines", us["plain"]),
    ]
    for label, value in rows:
        print(f"{label:<40}{value:>12.1f}{value / us['eager']:>18.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
