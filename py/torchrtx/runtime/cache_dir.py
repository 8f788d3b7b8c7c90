"""The default runtime-cache location: a private per-user cache directory."""

from __future__ import annotations

import os

import platformdirs

__all__ = ["default_cache_path"]

_FILE_NAME = "runtime_cache.bin"


def default_cache_path() -> str:
    """Path of the default runtime-cache file (the directory is created on first save)."""
    return os.path.join(platformdirs.user_cache_dir("torchrtx", appauthor=False), _FILE_NAME)
