import io

from torchrtx.runtime import runtime_cache

buffer = io.BytesIO()
with runtime_cache(mod, buffer) as rc:  # read once here
    assert rc.path == ""
    out = mod(x, y)
# written once here; buffer now holds the cache blob, e.g. to send elsewhere
blob = buffer.getvalue()
