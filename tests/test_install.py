"""A non-editable install works from any directory: the knowledge base and templates ship inside."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    wheels = base / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("credit_assistant-*.whl"))
    target = base / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    return wheel, target, base


def _run(target: Path, cwd: Path, *cmd: str):
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_wheel_contains_knowledge_and_templates(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "assistant/_data/knowledge/topics.yaml" in names
    assert "assistant/_data/knowledge/facts.yaml" in names
    assert "assistant/_data/templates/answer.txt.j2" in names
    assert "assistant/_data/templates/labels.yaml" in names


def test_installed_commands_run_from_another_directory(installed, tmp_path):
    _, target, _ = installed
    where = _run(target, tmp_path, sys.executable, "-c", "import assistant; print(assistant.__file__)")
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr
    script = target / "bin" / "credit-assistant"
    for cmd in ([str(script), "--help"], [sys.executable, "-m", "assistant", "--help"],
                [str(script), "kb", "check"]):
        proc = _run(target, tmp_path, *cmd)
        assert proc.returncode == 0, (cmd, proc.stderr)
    answer = _run(target, tmp_path, str(script), "ask", "借呗为什么被关了")
    assert answer.returncode == 0 and "95188" in answer.stdout
