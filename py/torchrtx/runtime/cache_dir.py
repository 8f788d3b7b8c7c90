"""The default runtime-cache location: a private per-user cache directory.

Kernels in the runtime cache are executed by the process that loads them, so the
default directory must not be writable by anyone else: it lives under the user's
cache directory (``$XDG_CACHE_HOME/torchrtx`` on Linux, via platformdirs), is
created with mode 0700, must be owned by the current user and must not be a
symbolic link.
"""

from __future__ import annotations

import logging
import os
import stat

import platformdirs

__all__ = ["UnsafeCacheDirError", "default_cache_dir", "default_cache_path", "ensure_private_dir",
           "is_default_cache_path"]

_FILE_NAME = "runtime_cache.bin"
_PRIVATE_MODE = 0o700

_log = logging.getLogger("torchrtx.runtime.cache")


class UnsafeCacheDirError(PermissionError):
    """The default cache directory is a symlink, not a directory, or not owned by this user."""


def default_cache_dir() -> str:
    """The private per-user directory that holds the default runtime-cache file."""
    return platformdirs.user_cache_dir("torchrtx", appauthor=False)


def default_cache_path() -> str:
    """Path of the default runtime-cache file (its directory is created on first use)."""
    return os.path.join(default_cache_dir(), _FILE_NAME)


def is_default_cache_path(path: str) -> bool:
    """True when ``path`` names the default cache file (compared as absolute paths)."""
    return os.path.abspath(path) == os.path.abspath(default_cache_path())


def ensure_private_dir(directory: str, *, create: bool = True) -> bool:
    """Check (and with ``create``, make) ``directory`` as a private per-user directory.

    Returns True when the directory exists afterwards. Raises :class:`UnsafeCacheDirError`
    when it is a symlink, not a directory or owned by another user. Group/other permission
    bits on a directory this user owns are removed.
    """
    if create:
        try:
            os.makedirs(directory, mode=_PRIVATE_MODE)
            _log.info("created private runtime-cache directory %s", directory)
        except FileExistsError:
            pass
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeCacheDirError(
            f"runtime-cache directory {directory} is a symbolic link; torchrtx refuses it because another "
            "user could redirect it. Remove the link or pass an explicit cache path."
        )
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheDirError(f"runtime-cache directory {directory} exists but is not a directory")
    if info.st_uid != os.getuid():
        raise UnsafeCacheDirError(
            f"runtime-cache directory {directory} is owned by uid {info.st_uid}, not by you "
            f"(uid {os.getuid()}); refusing to load or store kernels there. "
            "Remove it or pass an explicit cache path."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(directory, _PRIVATE_MODE)
        _log.warning("tightened permissions of %s to 0700", directory)
    return True
