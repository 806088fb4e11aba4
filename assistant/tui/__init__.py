"""The Textual chat (`credit-assistant chat`). Only this package imports Textual: `ask` and
`import assistant` never load it."""

from __future__ import annotations

from .app import ChatApp, run_chat

__all__ = ["ChatApp", "run_chat"]
