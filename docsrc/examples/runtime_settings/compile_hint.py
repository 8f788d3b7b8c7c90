import torch

import torchrtx
from torchrtx.runtime import RuntimeSettings


class AddRelu(torch.nn.Module):
    def forward(self, x, y):
        return x + y, torch.relu(x)


compiled = torchrtx.compile(
    AddRelu(),
    inputs=[torchrtx.Input(min_shape=(1, 4), opt_shape=(4, 4), max_shape=(8, 4), dtype=torch.float32)] * 2,
    compute_capabilities=["sm89"],
    runtime_settings=RuntimeSettings(dynamic_shapes_kernel_specialization_strategy="eager"),
)
print(compiled.runtime_settings.dynamic_shapes_kernel_specialization_strategy)  # eager
