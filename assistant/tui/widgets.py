"""The chat app's widgets. Every piece of text from the user (or from a saved file) is shown as
`Content(text)`, a literal: never parsed as markup, so `[/]` cannot crash and `[@click=…]` cannot act.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Collapsible, Input, Static

from ..render import fill

MAX_QUICK = 9


# ------------------------------------------------------------------ the input

class PromptInput(Input):
    """One line that sends on Enter, walks its history with up/down, and clears with Escape.

    With the line empty, the digits 1–9 pick a quick reply (when there is one to pick).
    """

    BINDINGS = [
        Binding("up", "history(-1)", "Previous input", show=False, id="history_previous"),
        Binding("down", "history(1)", "Next input", show=False, id="history_next"),
        Binding("escape", "cancel", "Clear the input", show=False, id="clear_input"),
    ]

    class QuickPick(Message):
        """The user picked quick reply `number` (1-based) by key."""

        def __init__(self, number: int) -> None:
            self.number = number
            super().__init__()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.history: list[str] = []
        self._position: int | None = None   # index into history while browsing, else None
        self._draft = ""
        self.quick_count = 0                # how many quick replies the digits may pick

    def remember(self, text: str) -> None:
        """Add a sent line to the history (not twice in a row) and stop browsing."""
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._position = None
        self._draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position is None:
            if step > 0:
                return
            self._draft = self.value
            self._position = len(self.history) - 1
        else:
            self._position += step
        if self._position < 0:
            self._position = 0
        if self._position >= len(self.history):
            self._position = None
            self.value = self._draft
        else:
            self.value = self.history[self._position]
        self.cursor_position = len(self.value)

    def action_cancel(self) -> None:
        """Escape: leave the history and restore the draft; else clear the line."""
        if self._position is not None:
            self._position = None
            self.value = self._draft
            self.cursor_position = len(self.value)
        else:
            self.value = ""
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        if (not self.value and event.character and event.character in "123456789"
                and int(event.character) <= self.quick_count):
            event.stop()
            event.prevent_default()
            self.post_message(self.QuickPick(int(event.character)))
            return
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        # A pasted question of several lines is one message: join the lines, keep every word.
        if event.text and "\n" in event.text.strip():
            event = events.Paste(" ".join(line.strip() for line in event.text.splitlines() if line.strip()))
        super()._on_paste(event)


# ------------------------------------------------------------------ the transcript

class ChatMessage(Static):
    """One message: the user's (literal), the assistant's (the chat template's text) or a note."""

    DEFAULT_CSS = """
    ChatMessage { height: auto; width: 1fr; }
    """

    def __init__(self, text: str, role: str, scroll_to: str | None = None, **kwargs) -> None:
        super().__init__(self.content_for(text, role), markup=False, classes=role, **kwargs)
        self.text = text
        self.role = role
        # Once laid out, bring the transcript to this message: "top" shows a long answer from its
        # first line, "end" scrolls to the bottom. (Before layout the message has no size.)
        self.scroll_to = scroll_to

    def on_resize(self, event: events.Resize) -> None:
        where, self.scroll_to = self.scroll_to, None
        parent = self.parent
        if where is None or parent is None or not self.size.height:
            return
        if where == "top":
            parent.scroll_to_widget(self, top=True, animate=False, immediate=True)
        else:
            parent.scroll_end(animate=False, immediate=True)

    @staticmethod
    def content_for(text: str, role: str) -> Content:
        text = text.rstrip("\n")
        if role != "assistant":
            return Content(text)
        # Warning lines of the chat template start with "! ": mark them, keep every character.
        parts: list = []
        for i, line in enumerate(text.split("\n")):
            if i:
                parts.append("\n")
            parts.append((line, "$text-warning") if line.startswith("! ") else line)
        return Content.assemble(*parts)


class QuickReplies(Vertical):
    """Buttons for the options of the first follow-up question, packed into rows by their width
    in cells (Chinese labels are two cells a character)."""

    DEFAULT_CSS = """
    QuickReplies { height: auto; }
    QuickReplies > Horizontal { height: auto; width: 1fr; }
    """

    class Picked(Message):
        def __init__(self, fact: str, value, label: str) -> None:
            self.fact, self.value, self.label = fact, value, label
            super().__init__()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fact: str | None = None
        self.options: list[dict] = []
        self.title = ""
        self._packed_width = -1

    async def offer(self, fact: str | None, options: list[dict], title: str) -> None:
        """Show `options` ([{value, label}]) for `fact`; none hides the row."""
        self.fact = fact
        self.options = list(options[:MAX_QUICK]) if fact else []
        self.title = title
        self.display = bool(self.options)
        await self._pack(force=True)

    def pick(self, number: int) -> bool:
        """Pick option `number` (1-based), as a click would; False if there is none."""
        if not self.fact or not 1 <= number <= len(self.options):
            return False
        option = self.options[number - 1]
        self.post_message(self.Picked(self.fact, option["value"], option["label"]))
        return True

    async def _pack(self, force: bool = False) -> None:
        width = max(self.size.width, 20) if self.size.width else 76
        if not force and width == self._packed_width:
            return
        self._packed_width = width
        await self.remove_children()
        if not self.options:
            return
        # The title starts the first row; the buttons follow while they fit.
        rows: list[list] = [[Static(Content(self.title), classes="quick-title", markup=False)]]
        used = cell_len(self.title) + 1
        for i, option in enumerate(self.options, 1):
            label = Content.assemble((str(i), "bold"), " ", str(option["label"]))
            need = cell_len(label.plain) + 3          # padding and the gap after it
            if rows[-1] and used + need > width:
                rows.append([])
                used = 0
            rows[-1].append(Button(label, id=f"quick-{i}", classes="quick", compact=True))
            used += need
        await self.mount_all(Horizontal(*row) for row in rows)

    async def on_resize(self, event: events.Resize) -> None:
        if self.options:
            await self._pack()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("quick-"):
            event.stop()
            self.pick(int(event.button.id.removeprefix("quick-")))


# ------------------------------------------------------------------ the side panel

def _gap(text: str) -> str:
    """No space before Chinese (two cells a character): "2.系统…" wraps inside the words rather
    than leaving "2." alone on its line; "2. Periodic…" keeps its space."""
    return "" if text and cell_len(text[0]) == 2 else " "


class SidePanel(VerticalScroll):
    """What the assistant knows and thinks: facts (with warnings), ranked causes (expandable to
    what each point came from) and next steps (expandable to their steps)."""

    DEFAULT_CSS = """
    SidePanel { height: 1fr; }
    """

    async def show(self, *, L: dict, facts: list[tuple[str, str, bool]], warnings: list[str],
                   causes: list[dict], remedies: list[dict], bands: dict[str, str]) -> None:
        """Rebuild the panel. `facts` are (title, value label, flagged); `causes` and `remedies`
        come from the advice (causes with points above zero, highest first)."""
        # what the user opened stays open when the panel is rebuilt for the next answer
        expanded = {c.id for c in self.query(Collapsible) if not c.collapsed}
        widgets = [Static(Content(L["tui_facts"]), classes="panel-heading", markup=False)]
        if facts:
            lines = [Content.assemble((title, "bold"), ":" + _gap(value), value,
                                      (" " + L["export_flagged"] if flagged else "", "$text-warning"))
                     for title, value, flagged in facts]
            widgets.append(Static(Content("\n").join(lines), id="facts", classes="panel-body", markup=False))
        else:
            widgets.append(Static(Content(L["tui_no_facts"]), id="facts", classes="panel-body muted",
                                  markup=False))
        if warnings:
            widgets.append(Static(Content("\n").join(Content("! " + w) for w in warnings),
                                  id="warnings", classes="panel-body warning", markup=False))

        widgets.append(Static(Content(L["tui_causes"]), classes="panel-heading", markup=False))
        if causes:
            for i, c in enumerate(causes, 1):
                title = Content.assemble(f"{i}.{_gap(c['title'])}{c['title']}  ",
                                         (fill(L["tui_band_points"], points=c["points"],
                                               band=bands.get(c["band"], c["band"])), "$text-muted"))
                lines = []
                for x in c["contributions"]:
                    sign = "+" if x["points"] > 0 else ""
                    lines.append(Content.assemble((f"{sign}{x['points']} ", "bold"),
                                                  f"{x['fact_title']} = {x['value_label']}"))
                    lines.append(Content(f"   {x['reason']}"))
                if c.get("open_points"):
                    lines.append(Content(fill(L["could_add"], points=c["open_points"])))
                if c.get("scope") == "anyone":
                    lines.append(Content(L["anyone_note"]))
                body = Static(Content("\n").join(lines), markup=False, classes="cause-body")
                widgets.append(Collapsible(body, title=title, collapsed=f"cause-{c['id']}" not in expanded,
                                           id=f"cause-{c['id']}",
                                           classes="cause"))
        else:
            widgets.append(Static(Content(L["tui_no_causes"]), id="no-causes", classes="panel-body muted",
                                  markup=False))

        widgets.append(Static(Content(L["tui_steps"]), classes="panel-heading", markup=False))
        if remedies:
            for r in remedies:
                body = Static(Content("\n").join(Content(f"{j}. {s}") for j, s in enumerate(r["steps"], 1)),
                              markup=False, classes="step-body")
                widgets.append(Collapsible(body, title=Content(r["title"]),
                                           collapsed=f"remedy-{r['id']}" not in expanded,
                                           id=f"remedy-{r['id']}", classes="remedy"))
        else:
            widgets.append(Static(Content(L["tui_no_steps"]), classes="panel-body muted", markup=False))
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all(widgets)
