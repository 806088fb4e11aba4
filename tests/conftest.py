"""Shared fixtures. Every test runs with its own cache and data directories, never the developer's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KB_DIR = ROOT / "knowledge"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def _isolated_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("home")
    os.environ["CREDIT_ASSISTANT_CACHE_DIR"] = str(base / "cache")
    os.environ["CREDIT_ASSISTANT_DATA_DIR"] = str(base / "data")
    os.environ.pop("NO_COLOR", None)
    yield


@pytest.fixture(scope="session")
def bot():
    from assistant import Assistant

    return Assistant.load()


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A writable copy of the shipped knowledge base."""
    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python -m assistant …` in a subprocess, as a user would from a shell."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd or ROOT, env=full_env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
