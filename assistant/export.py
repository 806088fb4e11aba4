"""Writing the advice to a file: atomically, privately, never over an existing file unless forced."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ExportError


def check_target(path: str | os.PathLike, force: bool = False) -> tuple[Path, Path]:
    """The file and its directory, if the file may be written there; ExportError if not.

    Callers with long work ahead (batch) check first, so a bad path fails before the work.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise ExportError(f"Cannot write to {target}: it is a directory; give a file name.")
    if target.exists() and not force:
        raise ExportError(f"{target} already exists; use --force to overwrite it.")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"Cannot write to {target}: the directory {directory} does not exist.")
    return target, directory


def write_private(path: str | os.PathLike, text: str, force: bool = False) -> Path:
    """Write `text` to `path` (mode 0600) via a temporary file in the same directory.

    Either the whole file appears or nothing does; an existing file survives unless `force`.
    Raises ExportError with one sentence on any failure.
    """
    import tempfile

    target, directory = check_target(path, force)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)   # fails if the file appeared meanwhile: never clobber
                os.unlink(tmp)
            except FileExistsError:
                raise
            except OSError:            # a file system without hard links
                if target.exists():
                    raise FileExistsError from None
                os.replace(tmp, target)
        tmp = None
    except FileExistsError:
        raise ExportError(f"{target} already exists; use --force to overwrite it.") from None
    except OSError as exc:
        raise ExportError(f"Could not write {target}: {exc.strerror or exc}.") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target
