from torchrtx.runtime import enable_cudagraphs, runtime_cache, runtime_config

with runtime_cache([mod1, mod2], cache_path) as rc:
    with (
        runtime_config(mod1, runtime_cache=rc, dynamic_shapes_kernel_specialization_strategy="eager") as modr,
        enable_cudagraphs(modr, cuda_graph_strategy="whole_graph_capture") as cg,
    ):
        outputs = cg(*inputs)  # mod1: one execution context, created with all three settings
    mod2(*outputs)  # mod2: one execution context, lazy kernels, the same cache
# cache_path now holds the kernels of both modules
