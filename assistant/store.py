"""Saved conversations: one JSON file per conversation in the user's data directory.

Written after every turn, atomically (a temporary file renamed over the old one) and privately
(files 0600 in a 0700 directory), so a crash loses at most the turn being answered. What the user
typed is redacted before it is written; the advice already carries a redacted question.

The file carries a format name and version so a later release can read (or migrate) it:

    {"format": "credit-assistant-conversation", "version": 1, "created": ..., "updated": ...,
     "conversation": Conversation.state(), "turns": [{"said": ..., "answer": ...}, ...]}

`turns` is the transcript as shown: what the user said (a question, a command, a quick reply)
and the answer shown for it (null when the turn had none).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from pathlib import Path

from . import paths
from .errors import AssistantError
from .redact import redact

FORMAT = "credit-assistant-conversation"
_SURROGATE = re.compile("[\ud800-\udfff]")
VERSION = 1
SUFFIX = ".json"


class StoreError(AssistantError):
    """A saved conversation cannot be written or read; `str()` is one sentence."""

    exit_code = 1


def conversations_dir() -> Path:
    return paths.data_dir() / "conversations"


def latest(directory: str | Path | None = None) -> Path | None:
    """The most recently saved conversation, or None."""
    root = Path(directory) if directory else conversations_dir()
    try:
        files = [p for p in root.iterdir() if p.suffix == SUFFIX and not p.name.startswith(".")]
    except OSError:
        return None
    if not files:
        return None

    def key(p: Path):
        try:
            return (p.stat().st_mtime_ns, p.name)
        except OSError:
            return (0, p.name)

    return max(files, key=key)


def load(path: str | Path) -> dict:
    """A saved conversation, checked: `{"conversation": {...}, "turns": [...], ...}`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"Could not read the saved conversation {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise StoreError(f"The saved conversation {path} is damaged (not JSON).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{path} is not a saved conversation.")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise StoreError(f"The saved conversation {path} has no valid format version.")
    if version > VERSION:
        raise StoreError(f"The saved conversation {path} was written by a newer version "
                         f"(format {version}); update credit-assistant to continue it.")
    conversation = data.get("conversation")
    turns = data.get("turns")
    if not isinstance(conversation, dict) or not isinstance(turns, list):
        raise StoreError(f"The saved conversation {path} is incomplete.")
    data["turns"] = [{"said": t.get("said"), "answer": t.get("answer")}
                     for t in turns if isinstance(t, dict)]
    return data


class Store:
    """Where one conversation is saved. The file appears with the first save."""

    def __init__(self, directory: str | Path | None = None, path: str | Path | None = None,
                 created: str | None = None):
        self.dir = Path(directory) if directory else conversations_dir()
        self.path: Path | None = Path(path) if path else None
        self.created = created
        self._lock = threading.Lock()

    @classmethod
    def resume(cls, path: str | Path) -> tuple["Store", dict]:
        """The store continuing the conversation saved at `path`, and its data."""
        data = load(path)
        path = Path(path)
        return cls(path.parent, path, data.get("created")), data

    def new(self) -> None:
        """The next save starts a new file (the old conversation stays saved)."""
        with self._lock:
            self.path = None
            self.created = None

    def save(self, conversation, turns: list[dict]) -> Path:
        """Write the conversation and its transcript; raise StoreError with one sentence."""
        from .export import write_private
        from .errors import ExportError

        state = conversation.state()
        lang = conversation.last.lang if conversation.last is not None else "zh"
        state["questions"] = [redact(q, lang) for q in state["questions"]]
        now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        with self._lock:
            if self.path is None:
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                self.path = self.dir / f"{stamp}-{secrets.token_hex(3)}{SUFFIX}"
                self.created = now
            payload = {
                "format": FORMAT, "version": VERSION, "created": self.created or now, "updated": now,
                "conversation": state,
                "turns": [{"said": redact(t["said"], lang) if t.get("said") else t.get("said"),
                           "answer": redact(t["answer"], lang) if t.get("answer") else t.get("answer")}
                          for t in turns],
            }
            # a lone surrogate (an undecodable byte typed or pasted) cannot be written as UTF-8
            text = _SURROGATE.sub("\ufffd", json.dumps(payload, ensure_ascii=False, indent=1))
            try:
                paths.private_dir(self.dir)
                write_private(self.path, text, force=True)
            except OSError as exc:
                raise StoreError(f"Could not save the conversation in {self.dir}: "
                                 f"{exc.strerror or exc}.") from None
            except ExportError as exc:
                raise StoreError(str(exc)) from None
            return self.path
