"""Where things live: the shipped knowledge base and templates, and the user's own directories."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "credit-assistant"
_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Directory of a shipped resource (`knowledge` or `templates`).

    A wheel carries them inside the package (`assistant/_data/…`); a source checkout or an
    editable install finds them at the top of the repository.
    """
    bundled = _PACKAGE / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE.parent / name


def _user_dir(env_override: str, xdg_var: str, fallback: str) -> Path:
    explicit = os.environ.get(env_override)
    if explicit:
        return Path(explicit)
    base = os.environ.get(xdg_var) or str(Path.home() / fallback)
    return Path(base) / APP_NAME


def cache_dir() -> Path:
    """Derived, disposable files (the compiled knowledge base, template bytecode)."""
    return _user_dir("CREDIT_ASSISTANT_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def data_dir() -> Path:
    """The user's own files (saved conversations)."""
    return _user_dir("CREDIT_ASSISTANT_DATA_DIR", "XDG_DATA_HOME", ".local/share")


def private_dir(path: Path) -> Path:
    """Create `path` readable by the user alone (0700) and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        path.chmod(0o700)
    except OSError:  # a directory we do not own (e.g. a shared cache root): leave it
        pass
    return path
