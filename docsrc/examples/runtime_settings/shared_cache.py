from torchrtx.runtime import runtime_cache

with runtime_cache([mod1, mod2], cache_path) as rc:  # loads the file (missing: empty cache)
    out = mod2(*mod1(x, y))  # kernels compiled for mod1 and mod2 land in one cache
# saved to cache_path, then both modules got their previous settings back
