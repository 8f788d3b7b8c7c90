"""Save and load compiled modules in a documented file format that is never unpickled.

File format (format version 1), conventionally named ``*.trtm``: a ZIP archive (stored,
not compressed) holding exactly two members, in this order:

``manifest.json``
    UTF-8 JSON object::

        {"format": "torchrtx.trtmodule",      # identifies the file type
         "format_version": 1,                 # files from a newer torchrtx are refused
         "torchrtx_version": "0.1.0",         # informational
         "engine": {"member": "engine.plan", "size": <bytes>, "sha256": "<hex digest>"},
         "spec": {...}}                       # EngineSpec.to_json(): I/O, capabilities, TRT-RTX version

``engine.plan``
    The serialized TensorRT-RTX engine, byte for byte as the builder produced it.

Runtime caches (JIT-compiled kernels) are never stored in a module file: they depend on
the GPU and driver and live in their own files. Any problem reading a file raises
:class:`ModuleFormatError`, naming the path and the problem.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import zipfile
from typing import Any

import torchrtx
from torchrtx._atomic_file import atomic_replace
from torchrtx._spec import EngineSpec
from torchrtx.runtime.module import TRTModule

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModuleFormatError", "load", "save"]

#: Value of the manifest's ``format`` field.
FORMAT_NAME = "torchrtx.trtmodule"
#: The newest format version this torchrtx writes and reads.
FORMAT_VERSION = 1

_MANIFEST = "manifest.json"
_PLAN = "engine.plan"
_ZIP_MAGIC = b"PK\x03\x04"
#: ZIP flag bits torchrtx.save never sets: encryption (bits 0 and 6) and patched data (bit 5).
_FOREIGN_FLAGS = 0x01 | 0x20 | 0x40
#: A manifest is a few kilobytes; refusing huge ones keeps a hostile file from exhausting memory.
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class ModuleFormatError(ValueError):
    """A file is not a readable torchrtx module: wrong type, truncated, corrupt or too new.

    Attributes:
        path: The file that was read.
        problem: What is wrong with it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


def save(module: TRTModule, path: str | os.PathLike[str]) -> None:
    """Write ``module`` to ``path`` in the format described above.

    The file is written to a temporary name in the same directory and moved into place,
    so a failed save leaves any previous file at ``path`` untouched. Like any temporary
    file it is created readable by its owner only.
    """
    if not isinstance(module, TRTModule):
        raise TypeError(f"torchrtx.save takes a TRTModule; got {type(module).__name__}")
    plan = module.serialized_engine
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "torchrtx_version": torchrtx.__version__,
        "engine": {"member": _PLAN, "size": len(plan), "sha256": hashlib.sha256(plan).hexdigest()},
        "spec": module.spec.to_json(),
    }
    with atomic_replace(os.fspath(path)) as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            archive.writestr(_PLAN, plan)


def load(path: str | os.PathLike[str]) -> TRTModule:
    """Read a module written by :func:`save`; the plan is checked against its checksum.

    Raises:
        ModuleFormatError: the file is not a torchrtx module, is truncated or corrupt, or
            was written by a newer torchrtx.
        OSError: the file cannot be opened (for example it does not exist).
    """
    with open(path, "rb") as stream:
        magic = stream.read(len(_ZIP_MAGIC))
        if magic != _ZIP_MAGIC:
            raise ModuleFormatError(
                path,
                f"not a torchrtx module file (starts with {magic!r}, "
                f"expected the ZIP signature {_ZIP_MAGIC!r})",
            )
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as archive:
                manifest = _read_manifest(path, archive)
                plan = _read_plan(path, archive, manifest["engine"])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            reason = str(exc) or "data ends early"
            raise ModuleFormatError(path, f"truncated or corrupt archive ({reason})") from exc
        except NotImplementedError as exc:
            raise ModuleFormatError(
                path, f"corrupt archive: it asks for a ZIP feature this reader lacks ({exc})"
            ) from exc
        except OSError as exc:
            # A damaged directory can point before the start of the file; seeking there fails
            # with EINVAL. Any other OSError is a real read error and stays one.
            if exc.errno != errno.EINVAL:
                raise
            raise ModuleFormatError(
                path, "truncated or corrupt archive (an offset points outside the file)"
            ) from exc
    try:
        spec = EngineSpec.from_json(manifest["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModuleFormatError(path, f"the manifest's engine description is malformed ({exc!r})") from exc
    return TRTModule(plan, spec)


def _read_manifest(path: str | os.PathLike[str], archive: zipfile.ZipFile) -> dict[str, Any]:
    info = _member(path, archive, _MANIFEST)
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise ModuleFormatError(path, f"{_MANIFEST} is {info.file_size} bytes, more than a manifest can be")
    try:
        manifest = json.loads(archive.read(info).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModuleFormatError(path, f"{_MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ModuleFormatError(
            path, f"not a torchrtx module file (format {found!r}, expected {FORMAT_NAME!r})"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModuleFormatError(path, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModuleFormatError(
            path,
            f"written by a newer torchrtx (format version {version}); this torchrtx "
            f"{torchrtx.__version__} reads up to version {FORMAT_VERSION}: upgrade torchrtx",
        )
    engine = manifest.get("engine")
    if not (
        isinstance(engine, dict)
        and isinstance(engine.get("size"), int)
        and isinstance(engine.get("sha256"), str)
        and engine.get("member") == _PLAN
        and "spec" in manifest
    ):
        raise ModuleFormatError(path, f"{_MANIFEST} lacks the engine size/sha256 or the spec")
    return manifest


def _read_plan(path: str | os.PathLike[str], archive: zipfile.ZipFile, engine: dict[str, Any]) -> bytes:
    info = _member(path, archive, _PLAN)
    if info.file_size != engine["size"]:
        raise ModuleFormatError(
            path, f"{_PLAN} is {info.file_size} bytes but the manifest says {engine['size']}"
        )
    plan = archive.read(info)
    digest = hashlib.sha256(plan).hexdigest()
    if digest != engine["sha256"]:
        raise ModuleFormatError(
            path,
            f"{_PLAN} fails its checksum (sha256 {digest}, manifest says "
            f"{engine['sha256']}): the file is corrupt",
        )
    return plan


def _member(path: str | os.PathLike[str], archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModuleFormatError(
            path, f"the archive has no {name} member; not a torchrtx module file"
        ) from None
    if info.flag_bits & _FOREIGN_FLAGS:
        raise ModuleFormatError(
            path,
            f"{name} is encrypted or patched (ZIP flags {info.flag_bits:#x}); "
            "torchrtx.save never writes such members",
        )
    if info.compress_type != zipfile.ZIP_STORED:
        raise ModuleFormatError(
            path,
            f"{name} is compressed (ZIP method {info.compress_type}); module files store "
            "members uncompressed, so this file was not written by torchrtx.save",
        )
    return info
