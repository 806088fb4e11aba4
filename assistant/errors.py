"""Errors the user can act on. Each maps to one exit code of the contract and one clear sentence."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: `str(error)` is the one sentence shown to the user."""

    exit_code = 1


class UsageError(AssistantError, ValueError):
    """Bad command-line usage or bad input (exit 2)."""

    exit_code = 2


class KnowledgeBaseError(AssistantError):
    """The knowledge base cannot be used (exit 3). `problems` lists every `FILE: PATH: message`."""

    exit_code = 3

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class ExportError(AssistantError):
    """The advice could not be written (exit 4); nothing partial is left behind."""

    exit_code = 4
