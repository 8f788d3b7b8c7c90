"""``python -m torchrtx``: compile the example model end to end, then describe the file."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import torchrtx
from torchrtx import Input
from torchrtx.cli import main, parse_input_spec
from torchrtx.runtime.cache_dir import default_cache_path

EXAMPLE = str(Path(__file__).resolve().parents[3] / "examples" / "convnet.py")


def test_compile_subprocess_succeeds_and_shows_progress(convnet_cli_run):
    process = convnet_cli_run.process
    assert process.returncode == 0, process.stderr
    progress = [line for line in process.stderr.splitlines() if line.startswith("torchrtx: ")]
    stages = [line.split()[1] for line in progress if " done in " in line]
    assert stages == ["export:", "parse:", "build:"]
    assert "torchrtx: build: started (for sm89, sm120)" in progress
    assert f"wrote {convnet_cli_run.output}" in process.stdout
    assert "torchvision" not in process.stderr


def test_compiled_example_has_the_requested_profile(convnet_cli_run):
    spec = torchrtx.load(convnet_cli_run.output).spec
    assert [(i.name, i.dtype, i.min_shape, i.opt_shape, i.max_shape) for i in spec.inputs] == [
        ("images", "float32", (1, 3, 32, 32), (4, 3, 32, 32), (8, 3, 32, 32))
    ]
    assert [(o.name, o.dtype, o.shape) for o in spec.outputs] == [("output_0", "float32", (-1, 10))]
    assert spec.compute_capabilities == ("sm89", "sm120")


def test_info_lists_io_ranges_capabilities_and_sizes(convnet_cli_run, capsys):
    assert main(["info", str(convnet_cli_run.output)]) == 0
    out = capsys.readouterr().out
    module = torchrtx.load(convnet_cli_run.output)
    assert f"{convnet_cli_run.output.stat().st_size:,} bytes" in out
    assert f"{len(module.serialized_engine):,} bytes" in out
    assert "compute capabilities: sm89, sm120" in out
    assert module.spec.trt_version in out
    images = next(line for line in out.splitlines() if "images" in line)
    assert "float32" in images
    assert "min=(1, 3, 32, 32) opt=(4, 3, 32, 32) max=(8, 3, 32, 32)" in images
    output = next(line for line in out.splitlines() if "output_0" in line)
    assert "float32" in output and "(?, 10)" in output
    assert "compile time: export " in out


def test_compile_an_exported_program(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Linear(8, 3)).eval()
    batch = torch.export.Dim("batch", min=1, max=16)
    program = torch.export.export(model, (torch.zeros(4, 8),), dynamic_shapes=({0: batch},))
    torch.export.save(program, tmp_path / "linear.pt2")
    output = tmp_path / "linear.trtm"
    argv = [
        "compile",
        str(tmp_path / "linear.pt2"),
        "-i",
        "1-2-4x8",
        "--capabilities",
        "sm86",
        "-o",
        str(output),
    ]
    assert main(argv) == 0
    spec = torchrtx.load(output).spec
    assert [(i.name, i.min_shape, i.opt_shape, i.max_shape) for i in spec.inputs] == [
        ("input", (1, 8), (2, 8), (4, 8))
    ]
    assert spec.compute_capabilities == ("sm86",)


def test_exported_program_range_must_cover_the_input(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Linear(8, 3)).eval()
    program = torch.export.export(model, (torch.zeros(4, 8),))
    torch.export.save(program, tmp_path / "static.pt2")
    assert (
        main(["compile", str(tmp_path / "static.pt2"), "-i", "1-2-4x8", "-o", str(tmp_path / "x.trtm")]) == 1
    )
    err = capsys.readouterr().err
    assert "error: export failed: input 'input' dim 0: the model accepts sizes = 4 only" in err
    assert not (tmp_path / "x.trtm").exists()


def test_exported_program_dtype_must_match_the_input(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Linear(8, 3)).eval()
    torch.export.save(torch.export.export(model, (torch.zeros(4, 8),)), tmp_path / "fp32.pt2")
    assert (
        main(["compile", str(tmp_path / "fp32.pt2"), "-i", "4x8:float16", "-o", str(tmp_path / "x.trtm")])
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "error: export failed: input 'input' is torch.float32 in the model but its Input says torch.float16"
        in err
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1x3x32x32", Input(shape=(1, 3, 32, 32))),
        (
            "images=1-4-8x3x32x32",
            Input(
                min_shape=(1, 3, 32, 32), opt_shape=(4, 3, 32, 32), max_shape=(8, 3, 32, 32), name="images"
            ),
        ),
        (
            "ids=2x1-8-64:int64",
            Input(min_shape=(2, 1), opt_shape=(2, 8), max_shape=(2, 64), dtype=torch.int64, name="ids"),
        ),
        ("7:float16", Input(shape=(7,), dtype=torch.float16)),
    ],
)
def test_input_spec_syntax(text, expected):
    assert parse_input_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1-8x3", "dim '1-8' must be N or MIN-OPT-MAX"),
        ("x=", "has no dims"),
        ("axb", "dim 'a' must be N or MIN-OPT-MAX"),
        ("2x3:complex64", "unsupported dtype 'complex64'"),
        ("x=8-4-1x3", "Input 'x': dim 0 breaks min <= opt <= max (8, 4, 1)"),
    ],
)
def test_bad_input_spec_is_reported(text, problem, capsys):
    with pytest.raises(ValueError) as caught:
        parse_input_spec(text)
    assert problem in str(caught.value)
    assert main(["compile", f"{EXAMPLE}:make_model", "-i", text, "-o", "unused.trtm"]) == 1
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        (EXAMPLE, "must be FILE.py:FACTORY or an exported program FILE.pt2"),
        ("absent.py:make_model", "no such model file: absent.py"),
        (f"{EXAMPLE}:no_such_factory", "has no callable 'no_such_factory'"),
        (f"{EXAMPLE}:ConvAttentionNet.forward", "has no callable 'ConvAttentionNet.forward'"),
    ],
)
def test_bad_model_source_is_reported(model, problem, capsys, tmp_path):
    assert main(["compile", model, "-i", "1x3x32x32", "-o", str(tmp_path / "m.trtm")]) == 1
    assert problem in capsys.readouterr().err


def test_missing_output_directory_is_reported_before_compiling(tmp_path, capsys):
    output = tmp_path / "absent" / "m.trtm"
    assert main(["compile", f"{EXAMPLE}:make_model", "-i", "1x3x32x32", "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: cannot write {output}: no such directory {output.parent}\n"


def test_info_on_a_corrupt_file_names_it(tmp_path, capsys):
    bad = tmp_path / "bad.trtm"
    bad.write_bytes(b"garbage")
    assert main(["info", str(bad)]) == 1
    assert f"error: {bad}: not a torchrtx module file" in capsys.readouterr().err


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--help"])
    assert caught.value.code == 0
    return capsys.readouterr().out


def test_help_names_the_jobs_and_shows_examples(capsys):
    out = _help([], capsys)
    for job in ("compile ", "info ", "cache "):
        assert f"\n    {job}" in out
    assert "python -m torchrtx compile examples/convnet.py:make_model --input images=1-4-8x3x32x32" in out


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (["compile"], ["usage: python -m torchrtx compile MODEL -i SPEC", "MIN-OPT-MAX", "float16", "sm89"]),
        (["info"], ["usage: python -m torchrtx info", "min/opt/max shapes", "compute capabilities"]),
        (["cache"], ["usage: python -m torchrtx cache", "path "]),
        (["cache", "path"], ["usage: python -m torchrtx cache path", "runtime cache"]),
    ],
)
def test_each_job_has_useful_help(job, expected, capsys):
    out = _help(job, capsys)
    for text in expected:
        assert text in out


@pytest.mark.parametrize(
    ("argv", "tensorrt_level"),
    [
        (["-v", "cache", "path"], logging.DEBUG),
        (["cache", "-v", "path"], logging.DEBUG),
        (["cache", "path"], logging.ERROR),
    ],
)
def test_verbose_may_come_before_or_after_the_job(argv, tensorrt_level, monkeypatch):
    seen = []

    def job(args) -> int:
        seen.append(logging.getLogger("torchrtx.tensorrt").getEffectiveLevel())
        return 0

    monkeypatch.setattr("torchrtx.cli._run_cache_path", job)
    assert main(argv) == 0
    assert seen == [tensorrt_level]


def test_info_on_a_corrupt_file_from_the_shell_prints_one_line(tmp_path):
    bad = tmp_path / "bad.trtm"
    bad.write_bytes(b"PK\x03\x04" + bytes(200))
    process = subprocess.run(
        [sys.executable, "-m", "torchrtx", "info", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr.splitlines() == [
        f"error: {bad}: truncated or corrupt archive (File is not a zip file)"
    ]


def test_compile_requires_output_and_input(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["compile", f"{EXAMPLE}:make_model"])
    assert caught.value.code == 2
    assert "required: -i/--input, -o/--output" in capsys.readouterr().err


def test_cache_path_prints_the_default_runtime_cache_file(capsys):
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == default_cache_path()


def test_cache_info_reports_size_and_conflict_copies(tmp_path, capsys):
    path = tmp_path / "jit.bin"
    assert main(["cache", "info", str(path)]) == 0
    assert "not written yet" in capsys.readouterr().out
    path.write_bytes(b"x" * 1234)
    (tmp_path / "jit.bin.77-1.conflict").write_bytes(b"y" * 56)
    assert main(["cache", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"runtime cache: {path}" in out and "1,234 bytes" in out
    assert f"conflict copy: {path}.77-1.conflict (56 bytes)" in out


def test_cache_info_defaults_to_the_per_user_file(capsys):
    assert main(["cache", "info"]) == 0
    assert f"runtime cache: {default_cache_path()}" in capsys.readouterr().out


def test_cache_clear_removes_the_file_and_its_conflict_copies_only(tmp_path, capsys):
    path = tmp_path / "jit.bin"
    path.write_bytes(b"kernels")
    (tmp_path / "jit.bin.77-1.conflict").write_bytes(b"other")
    (tmp_path / "other.bin").write_bytes(b"keep")
    assert main(["cache", "clear", str(path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["other.bin"]
    assert capsys.readouterr().out.count("removed ") == 2
    assert main(["cache", "clear", str(path)]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_cache_clear_waits_for_a_saving_process_then_gives_up_clearly(tmp_path, capsys):
    import filelock

    path = tmp_path / "jit.bin"
    path.write_bytes(b"kernels")
    with filelock.FileLock(str(path) + ".lock"):
        status = subprocess.run(
            [sys.executable, "-m", "torchrtx", "cache", "clear", str(path), "--timeout", "0.2"],
            capture_output=True, text=True, timeout=120,
        )
    assert status.returncode == 1
    assert status.stderr.strip().startswith("error: runtime cache")
    assert "locked by another process" in status.stderr
    assert path.read_bytes() == b"kernels"
