"""Per-call overhead of TRTModule.forward over the bare execute_async_v3 it wraps.

Runs on the TensorRT-RTX runtime double (CPU, or CUDA with --cuda) with an in-place
copy as the engine body, so the numbers are Python-side overhead, not kernels. Not
a hardware result: the real execute_async_v3 costs differ from the double's.

    python bench/overhead.py [--calls 20000] [--cuda]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import timeit
from collections.abc import Callable, Iterator

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "py"))

from support.double_plans import register_plan, synthetic_spec  # noqa: E402
from support.trt_double import IExecutionContext, admit_current_gpu, make_double  # noqa: E402
from torchrtx._backend import use_backend  # noqa: E402
from torchrtx._spec import InputSpec  # noqa: E402
from torchrtx.runtime.module import TRTModule  # noqa: E402
from torchrtx.runtime.settings import RuntimeSettings  # noqa: E402


def _identity(*tensors: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
    # Returning the inputs makes the double copy them into the outputs: the cheapest real body.
    return tensors[0] if len(tensors) == 1 else tensors


def _best_per_call_us(fns: list[Callable[[], object]], calls: int, repeats: int) -> list[float]:
    """Best-of-``repeats`` µs per call for each fn, interleaving them so drift hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for index, fn in enumerate(fns):
            best[index] = min(best[index], timeit.timeit(fn, number=calls) / calls * 1e6)
    return best


def _measure(n_io: int, device: str, calls: int, repeats: int) -> tuple[float, ...]:
    specs = [InputSpec(f"x{i}", "float32", (1, 16), (4, 16), (8, 16)) for i in range(n_io)]
    spec = synthetic_spec(_identity, specs)
    plan = f"bench-{n_io}-io".encode()
    register_plan(plan, _identity, spec)
    # No runtime cache: the bench must not touch the user's cache directory.
    module = TRTModule(plan, spec, runtime_settings=RuntimeSettings(runtime_cache=None))
    inputs = [torch.randn(4, 16, device=device) for _ in range(n_io)]
    outputs = module.engine.execute(inputs)
    # A context of its own for the bare calls: forward rebinds the module's context to fresh outputs.
    context = module.engine.runtime_config_shim.create_execution_context(module.engine.runtime_settings)
    for item, tensor in zip(specs, inputs, strict=True):
        context.set_input_shape(item.name, tuple(tensor.shape))
    for item, tensor in zip(specs, inputs, strict=True):
        context.set_tensor_address(item.name, tensor.data_ptr())
    for item, tensor in zip(spec.outputs, outputs, strict=True):
        context.set_tensor_address(item.name, tensor.data_ptr())
    stream = torch.cuda.current_stream().cuda_stream if device == "cuda" else 0
    if device == "cuda":

        def bare() -> None:
            context.execute_async_v3(stream)
            torch.cuda.synchronize()

        def forward() -> None:
            module(*inputs)
            torch.cuda.synchronize()
    else:

        def bare() -> None:
            context.execute_async_v3(stream)

        def forward() -> None:
            module(*inputs)

    bare(), forward()
    return tuple(_best_per_call_us([bare, forward], calls, repeats))


@contextlib.contextmanager
def _noop_enqueue() -> Iterator[None]:
    """Make the double's execute_async_v3 return at once, leaving only torchrtx's own per-call work.

    The double's enqueue is Python (it resolves tensors from raw addresses, which costs more for
    the fresh output addresses forward binds each call, most of all on CUDA); a real enqueue is not.
    """
    original = IExecutionContext.execute_async_v3
    IExecutionContext.execute_async_v3 = lambda self, stream_handle: True
    try:
        yield
    finally:
        IExecutionContext.execute_async_v3 = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cuda", action="store_true", help="run the double's references on CUDA")
    args = parser.parse_args()
    device = "cuda" if args.cuda else "cpu"
    if args.cuda:
        admit_current_gpu()
    print(
        f"TRTModule.forward vs bare execute_async_v3 (TensorRT-RTX double, {device}, best of "
        f"{args.repeats} x {args.calls} calls)"
    )
    print(f"{'enqueue':<10}{'engine':<12}{'bare µs':>10}{'forward µs':>12}{'added µs':>10}{'ratio':>8}")
    with use_backend(make_double("tensorrt_rtx", device=device)):
        for label, enqueue in (("double", contextlib.nullcontext), ("no-op", _noop_enqueue)):
            for n_io in (1, 4):
                with enqueue():
                    bare, forward = _measure(n_io, device, args.calls, args.repeats)
                # Against a no-op the ratio says nothing; only the added time matters there.
                ratio = f"{forward / bare:>8.2f}" if label == "double" else f"{'-':>8}"
                print(
                    f"{label:<10}{f'{n_io}-in/{n_io}-out':<12}{bare:>10.2f}{forward:>12.2f}"
                    f"{forward - bare:>10.2f}{ratio}"
                )
    print("target: added ≤ 10 µs per call on 1-in/1-out")
    print("'no-op' rows: the double's enqueue returns at once, so 'added' is torchrtx's own cost alone")


if __name__ == "__main__":
    main()
