"""Suite-wide test setup: CUDA marker handling and an isolated per-user cache directory."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import torch

pytest_plugins = ("support.fixtures",)


def pytest_configure(config: pytest.Config) -> None:
    # Session-scoped fixtures and import-time settings are made before any per-test fixture runs;
    # this keeps them, and the autosaves they do at exit, out of the real per-user cache too.
    session_cache = tempfile.mkdtemp(prefix="torchrtx-test-cache-")
    os.environ["XDG_CACHE_HOME"] = session_cache
    config.add_cleanup(lambda: shutil.rmtree(session_cache, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip_cuda)


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the per-user cache directory at a fresh temp dir so no test touches the real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg_cache")))
