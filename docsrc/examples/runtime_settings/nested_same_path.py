from torchrtx.runtime import runtime_cache, runtime_config

with runtime_cache(mod1, cache_path) as outer:
    with runtime_cache(mod2, cache_path) as inner:  # same file: the same cache, nothing clobbered
        assert inner is outer
        out = mod2(x, y)
    with runtime_config(mod1, dynamic_shapes_kernel_specialization_strategy="eager"):
        out = mod1(x, y)  # the eager override keeps the shared cache
