"""Privacy: the assistant never opens a network connection, never writes a phone, ID-card or
bank-card number, and what it writes is readable by the user alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from assistant.cli import main
from assistant.redact import redact

from conftest import KB_DIR, ROOT, run_cli

# --------------------------------------------------------------------------- no network


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Every way of reaching the network raises, and is recorded in case something swallows it."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args[1:2] if what.startswith('socket.') else args[:1]}")
            raise NetworkUsed(f"network access attempted: {what}")
        return blocked

    real_connect = socket.socket.connect

    def connect(sock, address, *rest):
        if sock.family == socket.AF_UNIX:        # local pipes between our own processes
            return real_connect(sock, address, *rest)
        return refuse("socket.connect")(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("socket.sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    yield attempts
    assert attempts == [], f"the network was used: {attempts}"


def test_the_blocker_works(no_network):
    with pytest.raises(NetworkUsed):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(NetworkUsed):
        socket.getaddrinfo("localhost", 80)
    no_network.clear()


def test_whole_pipeline_offline_in_process(no_network, kb_copy, tmp_path, monkeypatch, capsys):
    from assistant import Assistant, store

    # a cold load too: a knowledge base never seen, so it is validated, compiled and cached
    monkeypatch.setenv("CREDIT_ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    bot = Assistant.load(kb_copy)
    advice = bot.ask("芝麻分630从未逾期,借呗被关了", facts={"alipay_activity": "low"},
                     what_if={"alipay_activity": "high"})
    assert advice.match.topic == "why_closed"
    bot.advise("今天天气怎么样")
    chat = bot.conversation()
    chat.send("借呗突然被关了")
    chat.send("我很少用支付宝")
    chat.reanswer()
    store.Store(tmp_path / "conv").save(chat, [{"said": "借呗突然被关了", "answer": "…"}])
    for text in (bot.renderer.render("markdown", advice.model_dump(mode="json")),
                 bot.renderer.render("export", advice.model_dump(mode="json"))):
        assert text
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"question": q}, ensure_ascii=False) + "\n"
                           for q in ["借呗为什么被关了", "how to raise my sesame score"] * 40), encoding="utf-8")
    commands = [
        ["ask", "--format", "json", "借呗额度降了"],
        ["ask", "--export", str(tmp_path / "a.md"), "借呗额度降了"],
        ["batch", str(src), "-o", str(tmp_path / "out.jsonl"), "--jobs", "2"],
        ["batch", str(src), "--jobs", "1"],
        ["kb", "list", "--format", "json"],
        ["kb", "check"],
        ["eval", str(ROOT / "tests" / "data" / "questions.yaml"), "--format", "json"],
    ]
    for argv in commands:
        assert main(argv) == 0, argv
    capsys.readouterr()


async def test_chat_app_offline(no_network, bot, tmp_path):
    pytest.importorskip("textual")
    from assistant.tui import ChatApp
    from assistant.tui.widgets import PromptInput

    app = ChatApp(bot, store_dir=tmp_path / "conversations")
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.query_one(PromptInput)
        prompt.focus()
        prompt.value = "借呗为什么被关了,手机号13812345678"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    saved = list((tmp_path / "conversations").glob("*.json"))
    assert saved
    assert "13812345678" not in saved[0].read_text(encoding="utf-8")


# The subprocess variant: a sitecustomize that makes every network call fail loudly and leave a
# trace, for the real command as a user runs it (forked batch workers inherit it).
BLOCKER = textwrap.dedent("""
    import os, socket

    def _refuse(what):
        def blocked(*args, **kwargs):
            with open(os.environ["NET_TRACE"], "a") as fh:
                fh.write(what + "\\n")
            raise OSError(101, "network is unreachable (blocked by the test)")
        return blocked

    _connect = socket.socket.connect

    def _guarded_connect(sock, address, *rest):
        if sock.family == socket.AF_UNIX:
            return _connect(sock, address, *rest)
        return _refuse("socket.connect")(sock, address)

    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _refuse("socket.connect_ex")
    socket.socket.sendto = _refuse("socket.sendto")
    socket.create_connection = _refuse("create_connection")
    socket.getaddrinfo = _refuse("getaddrinfo")
    socket.gethostbyname = _refuse("gethostbyname")
""")


def test_commands_offline_in_a_subprocess(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    trace = tmp_path / "net.log"
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "NET_TRACE": str(trace), "CREDIT_ASSISTANT_CACHE_DIR": str(tmp_path / "cache")}
    check = run_cli("kb", "check", env=env)   # cold: builds the cache
    assert check.returncode == 0, check.stderr
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.getaddrinfo('localhost', 80)"],
                           capture_output=True, text=True, env={**os.environ, **env})
    assert probe.returncode != 0 and trace.read_text() == "getaddrinfo\n"   # the blocker is active
    trace.unlink()
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"question": q}, ensure_ascii=False) + "\n"
                           for q in ["借呗为什么被关了", "my jiebei limit was cut"] * 40), encoding="utf-8")
    for args in (["ask", "借呗为什么被关了"], ["ask", "--format", "json", "my jiebei was closed"],
                 ["ask", "--export", str(tmp_path / "x.md"), "借呗额度降了"],
                 ["batch", str(src), "-o", str(tmp_path / "o.jsonl")],
                 ["kb", "list", "--format", "json"]):
        done = run_cli(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    assert not trace.exists(), trace.read_text()


def test_works_in_a_namespace_without_network(tmp_path):
    """Where the machine allows it, run the command with no network interface at all."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare here")
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("network namespaces are not available to this user")
    done = subprocess.run([unshare, "-rn", sys.executable, "-m", "assistant", "ask", "--format", "json",
                           "借呗为什么被关了"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["match"]["topic"] == "why_closed"


# --------------------------------------------------------------------------- redaction

PHONES = ["13812345678", "+86 138 1234 5678", "+86-138-1234-5678", "138 1234 5678", "138-1234-5678",
          "+8613812345678", "0086 138 1234 5678", "１３８１２３４５６７８", "+86 １３８ １２３４ ５６７８",
          "86-13812345678"]
ID_CARDS = ["11010119900307457X", "11010119900307457x", "110101199003074578",
            "１１０１０１１９９００３０７４５７Ｘ", "110101 19900307 457X"]
CARDS = ["6222021234567890", "6222 0212 3456 7890", "6222-0212-3456-7890-123", "6222021234567890123",
         "6217 0000 1234 5678 901", "4111 1111 1111 1111", "６２２２０２１２３４５６７８９０"]
SECRETS = PHONES + ID_CARDS + CARDS

_FULL = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def _digits(number: str) -> str:
    """The number's digits; a phone's without the country code."""
    digits = re.sub(r"[^0-9Xx]", "", number.translate(_FULL))
    return digits[-11:] if number in PHONES else digits


def assert_no_secret(text: str, secrets=SECRETS) -> None:
    """No number of `secrets` in `text`, in any spacing or width."""
    flat = re.sub(r"(?<=[0-9])[ \-](?=[0-9])", "", text.translate(_FULL))
    for s in secrets:
        d = _digits(s)
        assert d not in flat, f"{s!r} leaked"
        assert d[:-1] not in flat, f"most of {s!r} leaked"


@pytest.mark.parametrize("number", SECRETS)
def test_redact_catches_every_form(number):
    for text in (number, f"我的号码是{number}。", f"my number is {number}, call me", f"号码:{number}借呗"):
        assert_no_secret(redact(text, "zh"), [number])
        assert_no_secret(redact(text, "en"), [number])


def test_redact_leaves_ordinary_numbers():
    text = "芝麻分630,额度5万降到5000,客服95188,2024年3月"
    assert redact(text) == text


def _question(number: str) -> str:
    return f"借呗被关了,芝麻分{number},手机号{number},我的卡{number},身份证{number}"


@pytest.mark.parametrize("number", SECRETS)
def test_no_number_in_any_output(number, tmp_path):
    from assistant import Assistant

    bot = Assistant.load()
    question = _question(number)
    advice = bot.advise(question)
    written = [json.dumps(advice, ensure_ascii=False)]
    for form in ("text", "markdown", "export"):
        written.append(bot.renderer.render(form, advice))
    assert "sesame_score" not in advice["facts"]      # never read as a fact either
    for text in written:
        assert_no_secret(text, [number])


def test_cli_outputs_are_redacted(tmp_path):
    numbers = [PHONES[1], ID_CARDS[0], CARDS[1], PHONES[7]]
    question = "借呗被关了," + ",".join(f"号码{n}" for n in numbers)
    for fmt in ("text", "markdown", "json"):
        done = run_cli("ask", "--format", fmt, question)
        assert done.returncode == 0, done.stderr
        assert_no_secret(done.stdout, numbers)
    out = tmp_path / "advice.md"
    done = run_cli("ask", "--export", str(out), question)
    assert done.returncode == 0
    assert_no_secret(out.read_text(encoding="utf-8"), numbers)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # stdin too
    done = run_cli("ask", "--format", "json", stdin=question)
    assert_no_secret(done.stdout, numbers)


def test_batch_output_is_redacted(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps({"question": _question(n)}, ensure_ascii=False) + "\n"
                           for n in SECRETS * 3), encoding="utf-8")
    done = run_cli("batch", str(src), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert_no_secret(out.read_text(encoding="utf-8"))
    assert_no_secret(done.stderr)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    done = run_cli("batch", str(src))
    assert_no_secret(done.stdout)


def test_saved_conversation_is_redacted_and_private(bot, tmp_path):
    from assistant import store

    chat = bot.conversation()
    turns = []
    for n in SECRETS:
        advice = chat.send(_question(n))
        turns.append({"said": _question(n), "answer": advice.answer})
    directory = tmp_path / "deep" / "conversations"
    path = store.Store(directory).save(chat, turns)
    text = path.read_text(encoding="utf-8")
    assert_no_secret(text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


# --------------------------------------------------------------------------- file modes

def test_files_we_write_are_private(tmp_path, monkeypatch):
    """Whatever the umask, exports, batch output, saved chats and the cache are the user's alone."""
    from assistant import Assistant, store

    cache, data = tmp_path / "cache", tmp_path / "data"
    monkeypatch.setenv("CREDIT_ASSISTANT_CACHE_DIR", str(cache))
    monkeypatch.setenv("CREDIT_ASSISTANT_DATA_DIR", str(data))
    old = os.umask(0)
    try:
        bot = Assistant.load(KB_DIR)
        bot.renderer.render("text", bot.advise("借呗为什么被关了"))
        chat = bot.conversation()
        chat.send("借呗为什么被关了")
        store.Store().save(chat, [{"said": "借呗为什么被关了", "answer": "…"}])
        src = tmp_path / "in.jsonl"
        src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
        assert main(["batch", str(src), "-o", str(tmp_path / "out.jsonl")]) == 0
        assert main(["ask", "--export", str(tmp_path / "a.md"), "借呗为什么被关了"]) == 0
    finally:
        os.umask(old)
    for path in [tmp_path / "out.jsonl", tmp_path / "a.md", *cache.rglob("*"), *data.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path}: {oct(mode)}"
        else:
            assert mode & 0o077 == 0, f"{path}: {oct(mode)}"
    assert list(cache.glob("*.pickle")), "the cache was written"
