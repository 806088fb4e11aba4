"""A disk cache for things compiled from files (the knowledge base, the template labels).

Entries are keyed by the bytes of their source files and of this package's code, so an entry is
used only when nothing it was built from has changed: a stale cache is never used. Files are
written atomically in a private directory; any failure to cache is silent, never fatal.
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

from . import paths, programs

T = TypeVar("T")
# Bump when a compiled form changes in a way the code hash would not notice.
FORMAT = 1
_KEEP = 8  # entries kept per namespace

_code_digest: str | None = None


def _code() -> str:
    """Digest of the package's own modules: a change of code invalidates every entry."""
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256()
        for p in sorted(Path(__file__).resolve().parent.glob("*.py")):
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        _code_digest = h.hexdigest()
    return _code_digest


def fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256(f"format {FORMAT}\n{_code()}\n".encode())
    for p in files:
        h.update(str(p).encode() + b"\0")
        try:
            h.update(p.read_bytes())
        except FileNotFoundError:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def enabled() -> bool:
    return os.environ.get("CREDIT_ASSISTANT_NO_CACHE", "") in ("", "0")


def cached(namespace: str, files: list[Path], build: Callable[[], T]) -> T:
    """`build()`'s result, from the cache when `files` and the code are unchanged."""
    if not enabled():
        return build()
    key = fingerprint(files)
    path = paths.cache_dir() / f"{namespace}-{key[:40]}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated or from another version: rebuild
        pass
    value = build()
    _store(path, value, namespace)
    return value


def _store(path: Path, value, namespace: str) -> None:
    try:
        directory = paths.private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{namespace}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
                # compiled patterns keep their program: loading does not compile them again
                pickler.dispatch_table = {**copyreg.dispatch_table, re.Pattern: programs.reduce_pattern}
                pickler.dump(value)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        old = sorted(directory.glob(f"{namespace}-*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in old[:-_KEEP]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass
