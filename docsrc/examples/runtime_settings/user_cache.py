from torchrtx.runtime import RuntimeCache, RuntimeSettings

rc = RuntimeCache(cache_path)
rc.load()  # bytes wait until an engine creates the backend cache
mod1.runtime_settings = mod2.runtime_settings = RuntimeSettings(runtime_cache=rc)
out = mod2(*mod1(x, y))
written_to = rc.save()  # cache_path, or a ".conflict" sibling if another process saved meanwhile
