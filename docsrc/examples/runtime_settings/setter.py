from torchrtx.runtime import RuntimeSettings

# Before the first call: the first call creates the only execution context, with these settings.
mod.runtime_settings = RuntimeSettings(
    dynamic_shapes_kernel_specialization_strategy="eager",
    runtime_cache=cache_path,  # this module's own cache on that file, saved when the module goes away
)
out = mod(x, y)
print(mod.runtime_settings.runtime_cache)  # still the path you gave
