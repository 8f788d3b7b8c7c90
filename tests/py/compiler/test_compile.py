"""torchrtx.compile with the real exporter, parser and builder (no GPU needed)."""

from __future__ import annotations

import onnx
import pytest
import tensorrt_rtx
import torch

import torchrtx
from torchrtx import CompileError, Input, TRTModule
from torchrtx._spec import InputSpec, OutputSpec
from torchrtx.compiler.export import export_onnx
from torchrtx.runtime.settings import RuntimeSettings


def test_mlp_records_the_exact_dynamic_batch_range(compiled_mlp):
    module, _ = compiled_mlp
    assert isinstance(module, TRTModule)
    assert isinstance(module.serialized_engine, bytes) and len(module.serialized_engine) > 1000
    assert module.spec.inputs == (InputSpec("x", "float32", (1, 16), (4, 16), (8, 16)),)
    assert module.spec.outputs == (OutputSpec("output_0", "float32", (-1, 4)),)
    assert module.spec.returns_tuple is False


def test_default_build_targets_every_supported_capability(compiled_mlp):
    module, _ = compiled_mlp
    assert module.spec.compute_capabilities == ("sm80", "sm86", "sm89", "sm120", "sm121")
    assert module.spec.trt_version == tensorrt_rtx.__version__


def test_static_fp16_transformer_block(compiled_transformer_fp16):
    spec = compiled_transformer_fp16.spec
    assert spec.inputs == (InputSpec("tokens", "float16", (2, 8, 32), (2, 8, 32), (2, 8, 32)),)
    assert spec.outputs == (OutputSpec("output_0", "float16", (2, 8, 32)),)
    assert not spec.inputs[0].is_dynamic


def test_two_inputs_share_a_batch_traced_from_opt_one(compiled_pair):
    spec = compiled_pair.module.spec
    assert [i.name for i in spec.inputs] == ["left", "right"]
    for item in spec.inputs:
        assert (item.min_shape, item.opt_shape, item.max_shape) == ((1, 16), (1, 16), (8, 16))
    assert spec.outputs == (
        OutputSpec("output_0", "float32", (-1, 16)),
        OutputSpec("output_1", "float32", (-1, 16)),
    )
    assert spec.returns_tuple is True


def test_requested_capabilities_are_normalized_in_order(compiled_pair):
    assert compiled_pair.module.spec.compute_capabilities == ("sm89", "sm120")


def test_runtime_settings_hint_becomes_the_module_settings(compiled_pair):
    assert compiled_pair.settings != RuntimeSettings()
    assert compiled_pair.module.runtime_settings == compiled_pair.settings
    assert compiled_pair.module.spec.extra["torch_version"] == torch.__version__


def test_training_flags_are_restored_after_compile(compiled_pair):
    assert compiled_pair.model.training
    assert compiled_pair.model.dropout.training


def test_each_stage_is_logged_with_its_duration(compiled_pair):
    done = [m for m in compiled_pair.log_messages if ": done in " in m]
    assert [m.split(":")[0] for m in done] == ["export", "parse", "build"]
    assert any("build: started (for sm89, sm120)" in m for m in compiled_pair.log_messages)
    timings = compiled_pair.module.spec.extra["compile_seconds"]
    assert list(timings) == ["export", "parse", "build"]
    assert timings["export"] > 0


def test_export_traces_in_eval_mode(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).train()
    exported = export_onnx(model, [Input(shape=(2, 4), name="x")], str(tmp_path))
    ops = {node.op_type for node in onnx.load(exported.path).graph.node}
    assert ops.isdisjoint({"Dropout", "RandomUniformLike", "RandomUniform", "Bernoulli"}), ops
    assert model.training and model[1].training


class _UnsupportedOps(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flags = torch.bitwise_xor((x * 10).int(), 3).float().sum()
        det = torch.linalg.det(x[:, :4].reshape(4, 4))
        return x.relu() + flags + det


def test_parser_failure_lists_every_unsupported_node():
    with pytest.raises(CompileError) as caught:
        torchrtx.compile(_UnsupportedOps(), [Input(shape=(4, 16))], compute_capabilities=["sm89"])
    error = caught.value
    assert error.stage == "parse"
    assert sorted(node.op_type for node in error.unsupported_nodes) == ["BitwiseXor", "Det"]
    message = str(error)
    assert message.startswith("parse failed: TensorRT-RTX cannot parse 2 ONNX node(s)")
    for node in error.unsupported_nodes:
        assert f"{node.name} ({node.op_type}): unsupported node" in message


class _NeedsThreeRows(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:3] * 2


def test_range_narrower_than_requested_is_refused():
    with pytest.raises(CompileError) as caught:
        torchrtx.compile(_NeedsThreeRows(), [Input(min_shape=(1, 4), opt_shape=(4, 4), max_shape=(8, 4))])
    assert caught.value.stage == "export"
    assert "input 'x' dim 0: the model accepts sizes in [3, 8] only, but the Input asks for [1, 8]" in str(
        caught.value
    )


class _FixedBatch(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(4, 4)


def test_dim_the_model_specializes_cannot_be_dynamic():
    with pytest.raises(CompileError) as caught:
        torchrtx.compile(_FixedBatch(), [Input(min_shape=(1, 4), opt_shape=(4, 4), max_shape=(8, 4))])
    assert caught.value.stage == "export"
    assert "torch.export could not trace the model" in str(caught.value)
    assert "L['x'].size()[0]" in str(caught.value)


def test_exported_program_with_a_smaller_max_is_refused():
    model = torch.nn.Linear(4, 2).eval()
    batch = torch.export.Dim("batch", min=1, max=4)
    program = torch.export.export(model, (torch.zeros(2, 4),), dynamic_shapes=({0: batch},))
    with pytest.raises(CompileError) as caught:
        torchrtx.compile(program, [Input(min_shape=(1, 4), opt_shape=(2, 4), max_shape=(8, 4))])
    assert caught.value.stage == "export"
    assert "dim 0: the model accepts sizes in [1, 4] only, but the Input asks for [1, 8]" in str(caught.value)
