"""The Textual chat, driven through Pilot like a user would, plus a few SVG snapshots.

Every app here saves into its own temporary directory (or not at all), never the developer's.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from textual.widgets import Button, Collapsible, Static  # noqa: E402

from assistant.tui import ChatApp  # noqa: E402
from assistant.tui.widgets import ChatMessage, PromptInput, QuickReplies, SidePanel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

QUESTION_ZH = "借呗为什么被关了,芝麻分630,从未逾期,网贷有好几个"
QUESTION_EN = "my jiebei was closed suddenly, sesame score 720, never late"
MARKUP = ["[bold]", "[/]", "[@click=app.quit]x[/]", "[", "x[i]y", "[link=https://example.com]y[/link]"]


@pytest.fixture
def make_app(bot, tmp_path):
    def make(**kwargs) -> ChatApp:
        kwargs.setdefault("store_dir", tmp_path / "conversations")
        return ChatApp(bot, **kwargs)

    return make


async def settle(app, pilot) -> None:
    """Wait for the answer (worker thread) and what it mounts."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def send(app, pilot, text: str) -> None:
    prompt = app.query_one(PromptInput)
    prompt.focus()
    prompt.value = text
    await pilot.press("enter")
    await settle(app, pilot)


def messages(app, role: str) -> list[ChatMessage]:
    return [m for m in app.query(ChatMessage) if m.has_class(role)]


def plain(widget: Static) -> str:
    return str(widget.render())


# ------------------------------------------------------------------ answering


async def test_question_shows_answer_and_updates_facts_and_causes(make_app, bot):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.query_one("#no-causes")
        prompt = app.query_one(PromptInput)
        assert prompt.has_focus
        await pilot.press(*QUESTION_ZH)
        await pilot.press("enter")
        await settle(app, pilot)

        last = app.conversation.last
        assert last is not None and last.question == QUESTION_ZH
        assert [m.text for m in messages(app, "user")] == [QUESTION_ZH]
        answers = messages(app, "assistant")
        assert len(answers) == 1
        assert answers[0].text == bot.renderer.render("chat", last.model_dump(mode="json"))
        assert prompt.value == ""

        facts = plain(app.query_one("#facts"))
        assert "芝麻分" in facts and "630" in facts and "从未逾期" in facts
        assert app.conversation.facts["other_debt"] == "heavy"

        shown = [c.id for c in app.query_one(SidePanel).query(Collapsible) if c.has_class("cause")]
        expected = [f"cause-{c.id}" for c in last.causes if c.points > 0]
        assert shown == expected and shown[0] == "cause-multi_lending"
        remedies = [c.id for c in app.query_one(SidePanel).query(Collapsible) if c.has_class("remedy")]
        assert remedies == [f"remedy-{r.id}" for r in last.remedies]

        # a cause expands to its contributions
        top = app.query_one("#cause-multi_lending", Collapsible)
        assert top.collapsed
        top.collapsed = False
        await pilot.pause()
        body = plain(top.query_one(".cause-body", Static))
        assert "其他负债" in body and str(last.causes[0].contributions[0].points) in body


async def test_warnings_show_in_the_panel_and_open_causes_stay_open(make_app, bot):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, "借呗被关了,芝麻分9999,网贷有好几个")
        assert "9999" in plain(app.query_one("#warnings"))
        assert bot.renderer.labels["zh"]["export_flagged"] in plain(app.query_one("#facts"))
        app.query_one("#cause-multi_lending", Collapsible).collapsed = False
        await send(app, pilot, "我很少用支付宝")
        assert not app.query_one("#cause-multi_lending", Collapsible).collapsed
        assert app.query_one("#cause-low_activity", Collapsible).collapsed


async def test_english_question_switches_the_interface(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.lang == "zh"
        await send(app, pilot, QUESTION_EN)
        assert app.lang == "en" and app.title == "Jiebei explainer"
        footer = {b.id: b.description for _, b in app._bindings}
        assert footer["help"] == "Help" and footer["quit"] == "Quit"
        assert "Sesame score" in plain(app.query_one("#facts"))


async def test_markup_like_input_is_shown_literally_and_does_nothing(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        for text in MARKUP:
            await send(app, pilot, text)
        assert app.is_running and app.return_code is None
        users = messages(app, "user")
        assert [m.text for m in users] == MARKUP
        assert [plain(m) for m in users] == MARKUP
        # clicking the text of a would-be action link does nothing either
        app.query_one("#transcript").scroll_to_widget(users[2], animate=False, top=True)
        await pilot.pause()
        await pilot.click(users[2], offset=(3, 0))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        # the same through a command and its error message
        await send(app, pilot, "/set [/]=[bold]")
        await send(app, pilot, "/[@click=app.quit]")
        assert app.is_running
        assert "/[@click=app.quit]" in plain(messages(app, "error")[-1])


async def test_a_worker_failure_is_one_notification_not_a_traceback(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        said: list[tuple[str, str]] = []
        monkeypatch.setattr(app, "notify", lambda message, **kw: said.append((message, kw.get("severity"))))

        def broken(text, **kwargs):
            raise RuntimeError("the knowledge base is on fire")

        monkeypatch.setattr(app.conversation, "send", broken)
        await send(app, pilot, "借呗为什么被关了")
        assert app.is_running
        assert said and said[-1][1] == "error" and "on fire" in said[-1][0]
        assert messages(app, "assistant") == []
        monkeypatch.undo()
        await send(app, pilot, "借呗为什么被关了")   # and the next message is answered
        assert len(messages(app, "assistant")) == 1


# ------------------------------------------------------------------ quick replies


async def test_a_quick_reply_by_key_answers_the_follow_up(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, QUESTION_ZH)
        follow = app.conversation.last.follow_up[0]
        quick = app.query_one(QuickReplies)
        assert quick.display and quick.fact == follow.fact
        buttons = list(quick.query(Button))
        assert len(buttons) == len(follow.options)
        assert follow.fact not in app.conversation.facts

        await pilot.press("1")          # the input is empty: 1 picks the first option
        await settle(app, pilot)
        assert app.conversation.facts[follow.fact] == follow.options[0].value
        assert len(app.conversation.history) == 2
        assert len(messages(app, "assistant")) == 2
        assert app.query_one(PromptInput).value == ""
        assert follow.options[0].label in messages(app, "user")[-1].text


async def test_a_quick_reply_by_click_answers_the_follow_up(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, QUESTION_ZH)
        follow = app.conversation.last.follow_up[0]
        await pilot.click("#quick-2")
        await settle(app, pilot)
        assert app.conversation.facts[follow.fact] == follow.options[1].value
        # typing a digit into a non-empty line is just typing
        prompt = app.query_one(PromptInput)
        prompt.value = "芝麻分"
        prompt.cursor_position = len(prompt.value)
        await pilot.press("6")
        assert prompt.value == "芝麻分6"


# ------------------------------------------------------------------ commands


async def test_export_writes_the_markdown(make_app, tmp_path, bot):
    app = make_app()
    target = tmp_path / "advice.md"
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "/export")
        assert "还没有回答" in plain(messages(app, "error")[-1])
        await send(app, pilot, QUESTION_ZH)
        await send(app, pilot, f"/export {target}")
        text = target.read_text(encoding="utf-8")
        assert text.startswith("# " + bot.renderer.labels["zh"]["export_title"])
        assert bot.renderer.labels["zh"]["export_transcript"] in text
        assert "从未逾期" in text
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert str(target) in plain(messages(app, "system")[-1])

        await send(app, pilot, f"/export {target}")          # never over an existing file...
        assert "already exists" in plain(messages(app, "error")[-1])
        await send(app, pilot, f"/export {target} --force")  # ...unless asked
        assert str(target) in plain(messages(app, "system")[-1])


async def test_export_without_a_path_writes_in_the_current_directory(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, QUESTION_EN)
        await pilot.press("f4")
        await pilot.pause()
        await send(app, pilot, "/export")
        written = sorted(tmp_path.glob("credit-advice-*.md"))
        assert len(written) == 2            # the second gets its own name
        assert "# 借呗 (Jiebei) assessment and advice" in written[0].read_text(encoding="utf-8")


async def test_set_forget_facts_and_whatif(make_app, bot):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, "/set other_debt=none")      # before any question: noted
        assert app.conversation.facts == {"other_debt": "none"}
        await send(app, pilot, QUESTION_ZH)                  # the question says heavy: it wins
        assert app.conversation.facts["other_debt"] == "heavy"
        await send(app, pilot, "/set alipay_activity=low")
        assert app.conversation.facts["alipay_activity"] == "low"
        assert app.conversation.last.facts["alipay_activity"] == "low"
        n = len(app.conversation.history)

        await send(app, pilot, "/forget alipay_activity")
        assert "alipay_activity" not in app.conversation.facts
        assert len(app.conversation.history) == n + 1

        await send(app, pilot, "/facts")
        listing = plain(messages(app, "system")[-1])
        assert "sesame_score" in listing and "630" in listing

        await send(app, pilot, "/set nonsense=1")
        assert "nonsense" in plain(messages(app, "error")[-1])
        await send(app, pilot, "/set other_debt=lots")
        assert "other_debt" in plain(messages(app, "error")[-1])

        n = len(app.conversation.history)
        await send(app, pilot, "/whatif sesame_score=800")   # a fact one cannot act on
        reason = bot.kb.facts["sesame_score"]["fixed_reason"]["zh"]
        assert reason in plain(messages(app, "error")[-1])
        assert len(app.conversation.history) == n
        await send(app, pilot, "/whatif other_debt=none")
        what_if = app.conversation.last.what_if
        assert what_if is not None and what_if.changes == {"other_debt": "none"}
        assert app.conversation.facts["other_debt"] == "heavy"   # a what-if changes nothing

        await send(app, pilot, "/wat")
        assert "/export" in plain(messages(app, "error")[-1])


async def test_lang_new_and_help(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(app, pilot, QUESTION_ZH)
        await send(app, pilot, "/lang en")
        assert app.conversation.lang == "en" and app.conversation.last.lang == "en"
        assert "Late payments" in plain(app.query_one("#facts"))
        assert app.query_one(PromptInput).placeholder.startswith("Type a question")

        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "HelpScreen"
        await send(app, pilot, "/help")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("f1")
        await pilot.pause()

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.conversation.history == [] and app.conversation.facts == {}
        assert messages(app, "assistant") == [] and messages(app, "user") == []
        assert app.query_one("#no-causes")


async def test_input_history_and_escape(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "借呗被关了")
        await send(app, pilot, "/facts")
        prompt = app.query_one(PromptInput)
        await pilot.press("up")
        assert prompt.value == "/facts"
        await pilot.press("up", "up")
        assert prompt.value == "借呗被关了"
        await pilot.press("down")
        assert prompt.value == "/facts"
        await pilot.press("down")
        assert prompt.value == ""
        await pilot.press(*"half a thought")
        await pilot.press("up")
        assert prompt.value == "/facts"
        await pilot.press("escape")                 # abandon browsing: the draft comes back
        assert prompt.value == "half a thought"
        await pilot.press("escape")                 # and Escape again clears it
        assert prompt.value == ""
        assert app.is_running


async def test_copy_the_last_answer(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        copied: list[str] = []
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await send(app, pilot, QUESTION_EN)
        await pilot.press("f3")
        await pilot.pause()
        assert copied == [app.conversation.last.answer]


async def test_the_panel_hides_when_narrow_and_f2_toggles_it(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        side = app.query_one(SidePanel)
        assert side.region.width == 0
        await pilot.press("f2")
        await pilot.pause()
        assert side.region.width > 0
        await pilot.press("f2")
        await pilot.pause()
        assert side.region.width == 0
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        side = app.query_one(SidePanel)
        assert side.region.width > 30
        await pilot.press("f2")
        await pilot.pause()
        assert side.region.width == 0


# ------------------------------------------------------------------ saving and resuming


async def test_a_session_killed_midway_resumes_with_its_history(make_app, tmp_path):
    store_dir = tmp_path / "conversations"
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, QUESTION_ZH)
        await pilot.press("1")
        await settle(app, pilot)
        facts = app.conversation.facts
        history = [a.model_dump(mode="json") for a in app.conversation.history]
        shown = [(m.role, m.text) for m in app.query(ChatMessage) if m.role in ("user", "assistant")]
        # saved after every turn: what is on disk now is what a crash would leave
        files = list(store_dir.glob("*.json"))
        assert len(files) == 1
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
        assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
        saved = json.loads(files[0].read_text(encoding="utf-8"))
        assert saved["format"] == "credit-assistant-conversation" and saved["version"] == 1
        assert len(saved["turns"]) == 2

    resumed = make_app(resume=True)
    async with resumed.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert resumed.conversation.facts == facts
        assert [a.model_dump(mode="json") for a in resumed.conversation.history] == history
        assert [(m.role, m.text) for m in resumed.query(ChatMessage)
                if m.role in ("user", "assistant")] == shown
        assert "(2 轮)" in plain(messages(resumed, "system")[-1])
        assert "芝麻分" in plain(resumed.query_one("#facts"))
        # it goes on in the same file
        await send(resumed, pilot, "我很少用支付宝")
        assert resumed.conversation.facts["alipay_activity"] == "low"
        files = list(store_dir.glob("*.json"))
        assert len(files) == 1
        assert len(json.loads(files[0].read_text(encoding="utf-8"))["turns"]) == 3


async def test_resume_with_nothing_saved_starts_afresh(make_app):
    app = make_app(resume=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.conversation.history == []
        assert "没有可以恢复" in plain(messages(app, "system")[-1])


async def test_no_save_writes_nothing(make_app, tmp_path):
    app = make_app(save=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, QUESTION_ZH)
        assert app.sub_title == "对话不保存"
    assert not (tmp_path / "conversations").exists()


async def test_saved_conversations_are_redacted(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "借呗被关了,我的手机号13812345678,卡号6222020200112233445")
    (saved,) = (tmp_path / "conversations").glob("*.json")
    text = saved.read_text(encoding="utf-8")
    assert "13812345678" not in text and "6222020200112233445" not in text
    assert "[手机号已隐去]" in text


def test_chat_app_builds_its_own_assistant():
    app = ChatApp(save=False)
    assert app.conversation.assistant is app.assistant
    assert app.conversation.history == []


# ------------------------------------------------------------------ `ask` stays light


def test_ask_never_imports_textual():
    code = ("import sys; from assistant.cli import main; rc = main(['ask', '借呗为什么被关了']); "
            "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
            "sys.stderr.write('LOADED ' + repr(loaded) + '\\n'); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stderr
    assert proc.stdout.strip()


# ------------------------------------------------------------------ snapshots (tests/snapshots)


@pytest.fixture(autouse=True)
def _snapshots_in_tests_snapshots(request, monkeypatch):
    """pytest-textual-snapshot keeps its SVGs in tests/snapshots/test_tui/ (autouse, so this
    runs before its `snap_compare` fixture picks the extension)."""
    if "snap_compare" not in request.fixturenames:
        return
    import pytest_textual_snapshot as pts

    class Extension(pts.SVGImageExtension):
        @classmethod
        def dirname(cls, *, test_location) -> str:
            return str(SNAPSHOTS / test_location.basename)

    monkeypatch.setattr(pts, "SVGImageExtension", Extension)


def snapshot_app(bot, tmp_path, **kwargs) -> ChatApp:
    return ChatApp(bot, store_dir=tmp_path / "conversations", **kwargs)


async def _ask(pilot, text: str) -> None:
    app = pilot.app
    app.query_one(PromptInput).value = text
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_snapshot_welcome_zh_80x24(snap_compare, bot, tmp_path):
    assert snap_compare(snapshot_app(bot, tmp_path), terminal_size=(80, 24))


def test_snapshot_answer_zh_120x40(snap_compare, bot, tmp_path):
    async def run_before(pilot):
        await _ask(pilot, QUESTION_ZH)
        pilot.app.query_one("#cause-multi_lending", Collapsible).collapsed = False
        await pilot.pause()

    assert snap_compare(snapshot_app(bot, tmp_path), terminal_size=(120, 40), run_before=run_before)


def test_snapshot_answer_en_80x24(snap_compare, bot, tmp_path):
    async def run_before(pilot):
        await _ask(pilot, QUESTION_EN)

    assert snap_compare(snapshot_app(bot, tmp_path, lang="en"), terminal_size=(80, 24),
                        run_before=run_before)


def test_snapshot_help_en_120x40(snap_compare, bot, tmp_path):
    assert snap_compare(snapshot_app(bot, tmp_path, lang="en"), terminal_size=(120, 40), press=["f1"])
