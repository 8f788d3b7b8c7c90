from torchrtx.runtime import runtime_config, set_dynamic_shapes_kernel_strategy

with runtime_config(mod, dynamic_shapes_kernel_specialization_strategy="eager") as m:
    out = m(x, y)  # runs with eager specialization
# back to exactly the settings mod had before

with set_dynamic_shapes_kernel_strategy([mod1, mod2], "none") as (a, b):
    out = b(*a(x, y))
