"""The chat: a transcript, an input, quick replies for the follow-up question, and a side panel
with the facts, the ranked causes and the next steps.

The app is a thin room over `Conversation`: every answer is computed by the conversation in a
worker thread, rendered with the `chat` template, shown, and saved (redacted, 0600) before the
next message is taken. Every word of the interface comes from `templates/labels.yaml` (`tui_*`).
User text is only ever shown as `Content(text)`: never markup, never a template.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Callable

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Header, Static

from .. import store as store_mod
from ..errors import AssistantError
from ..redact import redact
from ..render import fill
from .widgets import ChatMessage, PromptInput, QuickReplies, SidePanel

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# (key, action, label key, binding id, shown in the footer). Keys avoid what terminals and tmux
# commonly take (ctrl+s/q flow control is off in Textual's raw mode; ctrl+a/b/j are left alone).
KEYS = [
    ("f1", "help", "tui_key_help", "help", True),
    ("f2", "toggle_panel", "tui_key_panel", "toggle_panel", True),
    ("f3", "copy_answer", "tui_key_copy", "copy_answer", True),
    ("f4", "export", "tui_key_export", "export", True),
    ("ctrl+n", "new_chat", "tui_key_new", "new_chat", True),
    ("ctrl+q", "quit", "tui_key_quit", "quit", True),
]
# (command, usage, label key of its description); the order of /help.
COMMANDS = [
    ("/export", "/export [PATH] [--force]", "tui_cmd_export"),
    ("/facts", "/facts", "tui_cmd_facts"),
    ("/set", "/set KEY=VALUE", "tui_cmd_set"),
    ("/forget", "/forget KEY", "tui_cmd_forget"),
    ("/whatif", "/whatif KEY=VALUE", "tui_cmd_whatif"),
    ("/lang", "/lang zh|en|auto", "tui_cmd_lang"),
    ("/copy", "/copy", "tui_cmd_copy"),
    ("/new", "/new", "tui_cmd_new"),
    ("/help", "/help", "tui_cmd_help"),
    ("/quit", "/quit", "tui_cmd_quit"),
]


def _bindings(labels: dict) -> list[Binding]:
    out = [Binding(key, action, labels[label], id=bid, show=show, priority=(action == "quit"))
           for key, action, label, bid, show in KEYS]
    out.append(Binding("ctrl+c", "help_quit", show=False, system=True))
    return out


class HelpScreen(ModalScreen[None]):
    """F1: the keys, the commands and the facts one can set, in the interface language."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", show=False, id="close_help")]

    def __init__(self, title: str, body: Content) -> None:
        super().__init__()
        self._title = title
        self._body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = self._title
            yield Static(self._body, markup=False, id="help-text")

    def action_dismiss(self) -> None:
        self.dismiss(None)


class ChatApp(App[int]):
    """The chat. `ChatApp(assistant=None)` builds its own `Assistant`; `app.conversation` is the
    `Conversation` it talks through."""

    CSS_PATH = "app.tcss"
    TITLE = "借呗解读助手"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    # Replaced at mount by the same bindings described in the interface language.
    BINDINGS = [Binding(key, action, bid.replace("_", " "), id=bid, show=show,
                        priority=(action == "quit")) for key, action, _, bid, show in KEYS]

    def __init__(self, assistant=None, *, resume: bool = False, save: bool = True, lang: str = "auto",
                 store_dir: str | Path | None = None) -> None:
        super().__init__()
        if assistant is None:
            from ..core import Assistant

            assistant = Assistant.load()
        self.assistant = assistant
        self.renderer = assistant.renderer
        self.store: store_mod.Store | None = store_mod.Store(store_dir) if save else None
        self.turns: list[dict] = []          # {"said", "answer"}: the transcript as saved
        self._notes: list[tuple[str, str]] = []   # (text, role) to show at mount
        self._busy = False
        self._save_warned = False
        self._shown_lang: str | None = None
        self._resumed = False
        self.conversation = assistant.conversation(lang=lang if lang in ("auto", *LANGS) else "auto")
        if resume:
            self._resume(store_dir, lang)

    # -------------------------------------------------------------- language and words

    @property
    def lang(self) -> str:
        """The interface language: the conversation's, else the last answer's, else Chinese."""
        if self.conversation.lang in LANGS:
            return self.conversation.lang
        last = self.conversation.last
        return last.lang if last is not None else DEFAULT_LANG

    @property
    def L(self) -> dict:
        return self.renderer.labels[self.lang]

    def _apply_lang(self, force: bool = False) -> None:
        lang = self.lang
        if lang == self._shown_lang and not force:
            return
        self._shown_lang = lang
        L = self.L
        self.title = L["app_title"]
        self.sub_title = L["tui_saving"] if self.store is not None else L["tui_not_saving"]
        self.query_one(PromptInput).placeholder = L["tui_placeholder"]
        # Footer descriptions follow the language: the same bindings (same ids, so a keymap
        # still applies), described anew.
        self._bindings = BindingsMap(_bindings(L))
        self.screen.refresh_bindings()

    # -------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="chat"):
                yield VerticalScroll(id="transcript")
                yield QuickReplies(id="quick")
                yield PromptInput(id="prompt", suggester=SuggestFromList([c for c, _, _ in COMMANDS]))
            yield SidePanel(id="side")
        yield Footer()

    async def on_mount(self) -> None:
        self._apply_lang(force=True)
        transcript = self.query_one("#transcript")
        messages = []
        if not self.turns:
            messages += self._welcome()
        for turn in self.turns:
            if turn.get("said"):
                messages.append(ChatMessage(turn["said"], "user"))
            if turn.get("answer"):
                messages.append(ChatMessage(turn["answer"], "assistant"))
        messages += [ChatMessage(text, role) for text, role in self._notes]
        self._notes.clear()
        if messages:
            messages[-1].scroll_to = "end"
        await transcript.mount_all(messages)
        await self._refresh_side()
        self.query_one(QuickReplies).display = False
        await self._offer_quick_replies()
        self.query_one(PromptInput).focus()

    def _welcome(self) -> list[ChatMessage]:
        L = self.L
        text = L["tui_welcome"]
        if self.conversation.lang == "auto":
            text += "\n" + L["tui_welcome_other"]
        return [ChatMessage(text, "system welcome")]

    async def _say(self, text: str, role: str) -> None:
        """Add a message. An answer is scrolled to its first line (a long one reads from the top);
        anything else to the end of the transcript."""
        transcript = self.query_one("#transcript")
        for older in transcript.query_children(ChatMessage):
            older.scroll_to = None      # only the newest message's wish counts
        message = ChatMessage(text, role, scroll_to="top" if role == "assistant" else "end")
        await transcript.mount(message)

    async def note(self, text: str, error: bool = False) -> None:
        """A line from the app (not an answer): shown, not saved."""
        await self._say(text, "system error" if error else "system")

    # -------------------------------------------------------------- the panel and quick replies

    async def _refresh_side(self) -> None:
        lang, r = self.lang, self.renderer
        last = self.conversation.last
        warnings = [w.message for w in last.warnings] if last is not None else []
        flagged = {w.fact for w in last.warnings if w.fact} if last is not None else set()
        facts = [(r.fact_title(k, lang), r.value_label(k, v, lang), k in flagged)
                 for k, v in self.conversation.facts.items()]
        causes, remedies = [], []
        if last is not None:
            alang = last.lang
            for c in last.causes:
                if c.points <= 0:
                    continue
                d = c.model_dump(mode="json")
                d["contributions"] = [{**x, "fact_title": r.fact_title(x["fact"], alang),
                                       "value_label": r.value_label(x["fact"], x["value"], alang)}
                                      for x in d["contributions"]]
                causes.append(d)
            remedies = [x.model_dump(mode="json") for x in last.remedies]
        bands = {b["id"]: b["label"][lang] for b in self.assistant.kb.settings["bands"]}
        await self.query_one(SidePanel).show(L=self.L, facts=facts, warnings=warnings, causes=causes,
                                             remedies=remedies, bands=bands)

    async def _offer_quick_replies(self) -> None:
        last = self.conversation.last
        quick = self.query_one(QuickReplies)
        follow = last.follow_up[0] if last is not None and last.follow_up else None
        if follow is None or not follow.options:
            await quick.offer(None, [], "")
        else:
            await quick.offer(follow.fact, [o.model_dump(mode="json") for o in follow.options],
                              self.L["tui_quick"])
        self.query_one(PromptInput).quick_count = len(quick.options)

    # -------------------------------------------------------------- turns (off the UI thread)

    def _start_turn(self, said: str | None, job: Callable) -> None:
        self._busy = True
        self._run_turn(said, job)

    @work(thread=True, group="turn", exit_on_error=False)
    def _run_turn(self, said: str | None, job: Callable) -> None:
        try:
            advice = job()
            chat = self.renderer.render("chat", advice.model_dump(mode="json")) if advice is not None else None
        except AssistantError as exc:
            self.call_from_thread(self._turn_failed, str(exc))
            return
        except Exception as exc:  # never a traceback on screen: one sentence, the app goes on
            self.call_from_thread(self._turn_failed, f"{type(exc).__name__}: {exc}")
            return
        self.turns.append({"said": said, "answer": chat})
        save_error = None
        if self.store is not None:
            try:
                self.store.save(self.conversation, self.turns)
            except AssistantError as exc:
                save_error = str(exc)
        self.call_from_thread(self._turn_done, chat, save_error)

    async def _turn_done(self, chat: str | None, save_error: str | None) -> None:
        self._busy = False
        self._apply_lang()
        if chat:
            await self._say(chat, "assistant")
        await self._refresh_side()
        await self._offer_quick_replies()
        if save_error and not self._save_warned:
            self._save_warned = True
            self.notify(fill(self.L["tui_save_failed"], error=save_error), severity="warning",
                        markup=False, timeout=8)

    async def _turn_failed(self, error: str) -> None:
        self._busy = False
        self.notify(fill(self.L["tui_error"], error=error), severity="error", markup=False, timeout=8)

    # -------------------------------------------------------------- input

    @on(PromptInput.Submitted, "#prompt")
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        prompt = self.query_one(PromptInput)
        text = event.value.strip()
        if not text:
            return
        if self._busy:
            self.notify(self.L["tui_busy"], markup=False)
            return
        prompt.remember(event.value)
        prompt.value = ""
        if text.startswith("/"):
            await self.run_command(text)
            return
        await self._say(text, "user")
        self._start_turn(text, lambda: self.conversation.send(text))

    @on(PromptInput.QuickPick)
    def _quick_key(self, event: PromptInput.QuickPick) -> None:
        self.query_one(QuickReplies).pick(event.number)

    async def on_key(self, event) -> None:
        # Digits pick a quick reply wherever the focus is, except in a line being typed.
        focused = self.focused
        if isinstance(self.screen, HelpScreen) or isinstance(focused, PromptInput) \
                or not event.character or event.character not in "123456789":
            return
        if self.query_one(QuickReplies).pick(int(event.character)):
            event.stop()

    @on(QuickReplies.Picked)
    async def _quick_picked(self, event: QuickReplies.Picked) -> None:
        if self._busy:
            self.notify(self.L["tui_busy"], markup=False)
            return
        said = f"{self.renderer.fact_title(event.fact, self.lang)}: {event.label}"
        await self._say(said, "user")
        fact, value, conv = event.fact, event.value, self.conversation

        def job():
            conv.set_fact(fact, value)
            return conv.reanswer()

        self._start_turn(said, job)
        self.query_one(PromptInput).focus()

    # -------------------------------------------------------------- slash commands

    async def run_command(self, text: str) -> None:
        """A line starting with `/`: the command's echo, then what it does."""
        name, _, rest = text.partition(" ")
        name, rest = name.lower(), rest.strip()
        handler = {
            "/export": self._cmd_export, "/facts": self._cmd_facts, "/set": self._cmd_set,
            "/forget": self._cmd_forget, "/whatif": self._cmd_whatif, "/what-if": self._cmd_whatif,
            "/lang": self._cmd_lang, "/copy": self._cmd_copy, "/new": self._cmd_new,
            "/help": self._cmd_help, "/quit": self._cmd_quit, "/exit": self._cmd_quit,
        }.get(name)
        await self._say(text, "user command")
        if handler is None:
            await self.note(fill(self.L["tui_unknown_command"], command=name,
                                 commands=" ".join(c for c, _, _ in COMMANDS)), error=True)
            return
        await handler(rest, text)

    def _usage(self, command: str) -> str:
        usage = next(u for c, u, _ in COMMANDS if c == command)
        return fill(self.L["tui_usage"], usage=usage)

    async def _cmd_export(self, rest: str, said: str) -> None:
        try:
            args = shlex.split(rest)
        except ValueError:
            args = rest.split()
        force = any(a in ("--force", "-f") for a in args)
        args = [a for a in args if a not in ("--force", "-f")]
        if len(args) > 1:
            await self.note(self._usage("/export"), error=True)
            return
        await self.export(args[0] if args else None, force=force)

    async def export(self, path: str | None = None, force: bool = False) -> Path | None:
        """Write the last advice and the transcript as Markdown; say where, or why not."""
        from ..export import write_private

        last = self.conversation.last
        if last is None:
            await self.note(self.L["tui_nothing_yet"], error=True)
            return None
        target = Path(path).expanduser() if path else self._default_export_path()
        transcript = [{"question": redact(t["said"] or "", last.lang), "answer": t["answer"]}
                      for t in self.turns if t.get("answer")]
        try:
            text = self.renderer.render("export", last.model_dump(mode="json"), transcript=transcript)
            written = write_private(target, text, force=force)
        except AssistantError as exc:
            await self.note(str(exc), error=True)
            return None
        await self.note(fill(self.L["tui_exported"], path=str(written.resolve())))
        return written

    @staticmethod
    def _default_export_path() -> Path:
        stem = f"credit-advice-{dt.datetime.now():%Y%m%d-%H%M}"
        target = Path.cwd() / f"{stem}.md"
        n = 2
        while target.exists():
            target = Path.cwd() / f"{stem}-{n}.md"
            n += 1
        return target

    async def _cmd_facts(self, rest: str, said: str) -> None:
        facts = self.conversation.facts
        if not facts:
            await self.note(self.L["tui_no_facts"])
            return
        r, lang = self.renderer, self.lang
        lines = [self.L["tui_facts_list"]]
        lines += [f"  {r.fact_title(k, lang)} ({k}) = {r.value_label(k, v, lang)}" for k, v in facts.items()]
        await self.note("\n".join(lines))

    def _assignments(self, rest: str) -> dict:
        from ..extract import parse_assignment

        out = {}
        for item in rest.split():
            key, value = parse_assignment(self.assistant.kb, item)
            out[key] = value
        return out

    async def _changes(self, command: str, rest: str) -> dict | None:
        """The KEY=VALUE pairs of /set or /whatif, or None after saying what is wrong."""
        if not rest:
            await self.note(self._usage(command), error=True)
            return None
        try:
            return self._assignments(rest)
        except ValueError as exc:
            await self.note(_sentence(exc), error=True)
            return None

    async def _cmd_set(self, rest: str, said: str) -> None:
        changes = await self._changes("/set", rest)
        if changes is None:
            return
        r, lang, conv = self.renderer, self.lang, self.conversation
        await self.note("\n".join(fill(self.L["tui_fact_set"], fact=r.fact_title(k, lang),
                                       value=r.value_label(k, v, lang)) for k, v in changes.items()))

        def job():
            for key, value in changes.items():
                conv.set_fact(key, value)
            return conv.reanswer()

        self._start_turn(said, job)

    async def _cmd_forget(self, rest: str, said: str) -> None:
        keys = rest.split()
        if not keys:
            await self.note(self._usage("/forget"), error=True)
            return
        known = self.conversation.facts
        r, lang = self.renderer, self.lang
        missing = [k for k in keys if k not in known]
        if missing:
            await self.note("\n".join(fill(self.L["tui_fact_not_known"], fact=r.fact_title(k, lang))
                                      for k in missing), error=True)
            return
        await self.note("\n".join(fill(self.L["tui_fact_forgotten"], fact=r.fact_title(k, lang)) for k in keys))
        conv = self.conversation

        def job():
            for key in keys:
                conv.forget(key)
            return conv.reanswer()

        self._start_turn(said, job)

    async def _cmd_whatif(self, rest: str, said: str) -> None:
        if rest and self.conversation.last is None:
            await self.note(self.L["tui_nothing_yet"], error=True)
            return
        changes = await self._changes("/whatif", rest)
        if changes is None:
            return
        lang = self.lang
        for key in changes:
            fact = self.assistant.kb.facts[key]
            if not fact.get("actionable", True):
                reason = (fact.get("fixed_reason") or {}).get(lang, "")
                await self.note(fill(self.L["tui_whatif_fixed"], fact=self.renderer.fact_title(key, lang),
                                     reason=reason), error=True)
                return
        try:
            self.assistant.check_what_if(changes)
        except AssistantError as exc:
            await self.note(str(exc), error=True)
            return
        conv = self.conversation
        self._start_turn(said, lambda: conv.reanswer(what_if=changes))

    async def _cmd_lang(self, rest: str, said: str) -> None:
        choice = rest.strip().lower()
        if choice not in ("zh", "en", "auto"):
            await self.note(self._usage("/lang"), error=True)
            return
        self.conversation.lang = choice
        self._apply_lang()
        if choice != "auto":
            await self.note(self.L["tui_lang_set"])
        else:
            await self.note(self.L["tui_lang_auto"])
        if self.conversation.last is not None:
            conv = self.conversation
            self._start_turn(said, conv.reanswer)
        else:
            await self._refresh_side()
            await self._offer_quick_replies()

    async def _cmd_copy(self, rest: str, said: str) -> None:
        await self.action_copy_answer()

    async def _cmd_new(self, rest: str, said: str) -> None:
        await self.action_new_chat()

    async def _cmd_help(self, rest: str, said: str) -> None:
        self.action_help()

    async def _cmd_quit(self, rest: str, said: str) -> None:
        self.exit(0)

    # -------------------------------------------------------------- actions (bindings)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.L["tui_help_title"], self._help_text()))

    def _help_text(self) -> Content:
        L, lang, kb = self.L, self.lang, self.assistant.kb
        parts: list = [(L["tui_help_keys"], "bold"), "\n"]
        keys = [("Enter", L["tui_key_send"]), ("↑ ↓", L["tui_key_history"]), ("Esc", L["tui_key_cancel"]),
                ("1-9", L["tui_key_quick"])]
        keys += [(_key_name(key), L[label]) for key, _, label, _, _ in KEYS]
        for key, desc in keys:
            parts += [(f"  {key:<8}", "bold"), f" {desc}\n"]
        parts += ["\n", (L["tui_help_commands"], "bold"), "\n"]
        for _, usage, label in COMMANDS:
            parts += [(f"  {usage}", "bold"), "\n", f"      {L[label]}\n"]
        parts += ["\n", (L["tui_help_facts"], "bold"), "\n"]
        r = self.renderer
        for key, fact in kb.facts.items():
            values = ", ".join(str(v["id"]).lower() if isinstance(v["id"], bool) else str(v["id"])
                               for v in fact["values"]) or "123"
            parts += [(f"  {key}", "bold"), f"  {r.fact_title(key, lang)}: {values}\n"]
        parts += ["\n", (L["tui_help_close"], "italic")]
        return Content.assemble(*parts)

    def action_toggle_panel(self) -> None:
        body = self.query_one("#body")
        shown = self.query_one(SidePanel).display and self.query_one(SidePanel).region.width > 0
        body.set_class(shown, "-hide-panel")
        body.set_class(not shown, "-show-panel")

    async def action_copy_answer(self) -> None:
        last = self.conversation.last
        if last is None:
            self.notify(self.L["tui_nothing_yet"], markup=False)
            return
        self.copy_to_clipboard(last.answer)
        self.notify(self.L["tui_copied"], markup=False)

    async def action_export(self) -> None:
        await self.export()

    async def action_new_chat(self) -> None:
        if self._busy:
            self.notify(self.L["tui_busy"], markup=False)
            return
        self.conversation.reset()
        self.turns = []
        if self.store is not None:
            self.store.new()
        transcript = self.query_one("#transcript")
        await transcript.remove_children()
        self._apply_lang()
        await transcript.mount_all(self._welcome())
        await self.note(self.L["tui_new"])
        await self._refresh_side()
        await self._offer_quick_replies()
        self.query_one(PromptInput).focus()

    # -------------------------------------------------------------- resuming

    def _resume(self, store_dir, lang: str) -> None:
        path = store_mod.latest(store_dir)
        L = self.renderer.labels
        if path is None:
            self._notes.append((L[self.lang]["tui_nothing_to_resume"], "system"))
            return
        try:
            saved_store, data = store_mod.Store.resume(path)
        except AssistantError as exc:
            self._notes.append((fill(L[self.lang]["tui_resume_failed"], error=str(exc)), "system error"))
            return
        from ..conversation import Conversation

        self.conversation = Conversation.from_state(self.assistant, data["conversation"])
        if lang in LANGS:
            self.conversation.lang = lang
        self.turns = list(data["turns"])
        if self.store is not None:
            self.store = saved_store
        self._resumed = True
        self._notes.append((fill(L[self.lang]["tui_resumed"], n=len(self.turns)), "system"))


def _key_name(key: str) -> str:
    return key.upper() if key.startswith("f") and key[1:].isdigit() else key.replace("ctrl+", "Ctrl+")


def _sentence(exc: Exception) -> str:
    text = str(exc)
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.isascii():     # never "Other_debt": a fact key keeps its case
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "。")) else text + "."


def run_chat(assistant=None, resume: bool = False, save: bool = True, lang: str = "auto") -> int:
    """Run the chat in this terminal; the process exit code."""
    app = ChatApp(assistant, resume=resume, save=save, lang=lang)
    app.run()
    code = app.return_code
    return 0 if code is None else int(code)
