"""``python -m torchrtx``: compile models and inspect compiled module files from the shell."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence

import torch

from torchrtx._spec import DTYPE_NAMES
from torchrtx.compiler import CompileError, Input, compile, supported_capabilities
from torchrtx.serialization import ModuleFormatError, load, save

__all__ = ["main", "parse_input_spec"]

_INPUT_HELP = """\
input spec: [NAME=]DIMS[:DTYPE], one --input per model argument in order.
DIMS are separated by 'x'; each is a size N or a range MIN-OPT-MAX.
DTYPE is one of {dtypes} (default float32).
examples: 1x3x224x224   images=1-8-32x3x224x224:float16"""


_EXAMPLES = """\
examples:
  python -m torchrtx compile examples/convnet.py:make_model --input images=1-4-8x3x32x32 -o convnet.trtm
  python -m torchrtx info convnet.trtm
  python -m torchrtx cache info       (where the runtime cache is, how big, conflict copies)
  python -m torchrtx JOB --help    (details of one job)"""

#: Module name the model file is imported under.
_MODEL_MODULE = "_torchrtx_cli_model"


def parse_input_spec(text: str) -> Input:
    """Turn ``[NAME=]DIMS[:DTYPE]`` (e.g. ``x=1-4-8x3x32x32:float16``) into an :class:`Input`.

    Raises:
        ValueError: the text does not follow the syntax or describes an invalid Input.
    """
    name, _, rest = text.rpartition("=")
    dims_text, _, dtype = rest.partition(":")
    if not dims_text:
        raise ValueError(f"input spec {text!r} has no dims; expected [NAME=]DIMS[:DTYPE]")
    low, opt, high = [], [], []
    for dim in dims_text.split("x"):
        parts = dim.split("-")
        if len(parts) not in (1, 3) or not all(part.isdigit() for part in parts):
            raise ValueError(
                f"input spec {text!r}: dim {dim!r} must be N or MIN-OPT-MAX (non-negative integers)"
            )
        values = [int(part) for part in parts] * (3 if len(parts) == 1 else 1)
        for shape, value in zip((low, opt, high), values, strict=True):
            shape.append(value)
    return Input(min_shape=low, opt_shape=opt, max_shape=high, dtype=dtype or "float32", name=name or None)


def _load_model(source: str) -> torch.nn.Module | torch.export.ExportedProgram:
    if source.endswith(".pt2"):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"no such exported program: {source}")
        return torch.export.load(source)
    path, sep, factory_name = source.rpartition(":")
    if not sep or not path.endswith(".py"):
        raise ValueError(f"model {source!r} must be FILE.py:FACTORY or an exported program FILE.pt2")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such model file: {path}")
    spec = importlib.util.spec_from_file_location(_MODEL_MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODEL_MODULE] = module  # dataclasses and pickling look classes up here
    spec.loader.exec_module(module)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ValueError(f"{path} has no callable {factory_name!r}")
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{source}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _run_compile(args: argparse.Namespace) -> int:
    inputs = [parse_input_spec(text) for text in args.input]
    output_directory = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(output_directory):  # say so now, not after a compile of many seconds
        raise FileNotFoundError(f"cannot write {args.output}: no such directory {output_directory}")
    capabilities = args.capabilities.split(",") if args.capabilities else None
    model = _load_model(args.model)
    module = compile(model, inputs, compute_capabilities=capabilities)
    save(module, args.output)
    print(f"wrote {args.output} ({os.path.getsize(args.output):,} bytes)")
    return 0


def _run_info(args: argparse.Namespace) -> int:
    module = load(args.file)
    print(f"file: {args.file} ({os.path.getsize(args.file):,} bytes)")
    print(module.describe())
    timings = module.spec.extra.get("compile_seconds", {})
    stages = [f"{stage} {timings[stage]:.2f} s" for stage in ("export", "parse", "build") if stage in timings]
    if stages:
        print("compile time: " + ", ".join(stages))
    return 0


def _run_cache_path(args: argparse.Namespace) -> int:
    from torchrtx.runtime.cache_dir import default_cache_path

    print(default_cache_path())
    return 0


def _cache_file_arg(args: argparse.Namespace) -> str:
    from torchrtx.runtime.cache_dir import default_cache_path

    return os.path.abspath(args.file or default_cache_path())


def _run_cache_info(args: argparse.Namespace) -> int:
    from torchrtx.runtime.cache_file import conflict_siblings

    path = _cache_file_arg(args)
    print(f"runtime cache: {path}")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        print("  not written yet (modules start with an empty cache)")
    else:
        modified = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.st_mtime))
        print(f"  {info.st_size:,} bytes, last saved {modified}")
    for sibling in conflict_siblings(path):
        print(f"  conflict copy: {sibling} ({os.path.getsize(sibling):,} bytes)")
    return 0


def _run_cache_clear(args: argparse.Namespace) -> int:
    from torchrtx.runtime.cache_file import remove_cache_file

    path = _cache_file_arg(args)
    removed = remove_cache_file(path, lock_timeout=args.timeout)
    for name in removed:
        print(f"removed {name}")
    if not removed:
        print(f"nothing to remove: {path} does not exist")
    return 0


def _parser() -> argparse.ArgumentParser:
    # -v is accepted before or after the job name; with no default (SUPPRESS) a job's parser
    # cannot overwrite a -v given before it, so ``verbose`` is absent unless -v was given.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also show TensorRT-RTX's own messages",
    )
    parser = argparse.ArgumentParser(
        prog="python -m torchrtx",
        description="Compile PyTorch models to TensorRT-RTX engines (no GPU needed) and inspect them.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[verbose],
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")

    job = jobs.add_parser(
        "compile",
        help="compile a model to a .trtm module file",
        usage="%(prog)s MODEL -i SPEC [-i SPEC ...] [--capabilities LIST] -o FILE [-v]",
        description="Compile a model to a TensorRT-RTX engine and save it as a torchrtx module file.\n"
        "Each stage (export, parse, build) is reported on stderr with its duration.",
        epilog=_INPUT_HELP.format(dtypes=", ".join(DTYPE_NAMES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[verbose],
    )
    job.add_argument(
        "model", metavar="MODEL", help="FILE.py:FACTORY (a function returning an nn.Module) or FILE.pt2"
    )
    job.add_argument(
        "-i",
        "--input",
        action="append",
        required=True,
        metavar="SPEC",
        help="one model input, [NAME=]DIMS[:DTYPE]; repeat once per forward() argument (see below)",
    )
    job.add_argument(
        "--capabilities",
        metavar="LIST",
        help=f"comma-separated GPU targets (default: all supported: {','.join(supported_capabilities())})",
    )
    job.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="module file to write, e.g. model.trtm"
    )
    job.set_defaults(run=_run_compile)

    job = jobs.add_parser(
        "info",
        help="describe a module file: I/O, shape ranges, capabilities, sizes",
        description="Print a module file's inputs and outputs (names, dtypes, min/opt/max shapes), the "
        "compute capabilities and TensorRT-RTX version it was built with, its sizes and compile time.",
        parents=[verbose],
    )
    job.add_argument("file", metavar="FILE", help="a file written by torchrtx.save or `compile`")
    job.set_defaults(run=_run_info)

    job = jobs.add_parser(
        "cache",
        help="runtime-cache housekeeping",
        description="Housekeeping for the runtime cache of JIT-compiled kernels.",
        parents=[verbose],
    )
    cache_jobs = job.add_subparsers(dest="cache_job", required=True, metavar="JOB")
    cache_jobs.add_parser(
        "path",
        help="print the default runtime-cache file",
        description="Print the per-user file modules use for their runtime cache by default.",
    ).set_defaults(run=_run_cache_path)
    cache_job = cache_jobs.add_parser(
        "info",
        help="show a runtime-cache file's size, age and conflict copies",
        description="Show the size and last save of a runtime-cache file (default: the per-user one), "
        "and any conflict copies that saves wrote beside it instead of overwriting another writer.",
    )
    cache_job.add_argument("file", metavar="FILE", nargs="?", help="cache file (default: the per-user one)")
    cache_job.set_defaults(run=_run_cache_info)
    cache_job = cache_jobs.add_parser(
        "clear",
        help="delete a runtime-cache file and its conflict copies",
        description="Delete a runtime-cache file (default: the per-user one) and its conflict copies, "
        "under the cache lock so no save is torn. Kernels are compiled again when next needed.",
    )
    cache_job.add_argument("file", metavar="FILE", nargs="?", help="cache file (default: the per-user one)")
    cache_job.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                           help="how long to wait for a process that is saving the cache (default: 10)")
    cache_job.set_defaults(run=_run_cache_clear)
    return parser


@contextlib.contextmanager
def _progress_on_stderr(verbose: bool) -> Iterator[None]:
    """Show torchrtx's INFO log lines (stage progress) on stderr while a job runs.

    TensorRT-RTX's own messages are shown only with ``--verbose``.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("torchrtx: %(message)s"))
    loggers = {name: logging.getLogger(name) for name in ("torchrtx", "torchrtx.tensorrt")}
    levels = {name: logger.level for name, logger in loggers.items()}
    loggers["torchrtx"].setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        loggers["torchrtx.tensorrt"].setLevel(logging.ERROR)
    loggers["torchrtx"].addHandler(handler)
    try:
        yield
    finally:
        loggers["torchrtx"].removeHandler(handler)
        for name, level in levels.items():
            loggers[name].setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (1 for a reported error)."""
    args = _parser().parse_args(argv)
    try:
        with _progress_on_stderr(getattr(args, "verbose", False)):
            return args.run(args)
    except (CompileError, ModuleFormatError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
