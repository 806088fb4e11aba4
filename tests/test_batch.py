"""`credit-assistant batch`: order, identity with one-by-one answers, error records, output files.

The suite answers a few hundred questions; `bench/run.py` checks 10,000 the same way.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys

import pytest

from assistant import batch
from assistant.cli import main

from conftest import ROOT, run_cli


def _questions(bot) -> list[str]:
    qs = []
    for topic in bot.kb.topics.values():
        qs += topic["examples"]["zh"] + topic["examples"]["en"]
    qs += bot.kb.scope["out_of_scope"]["zh"] + bot.kb.scope["out_of_scope"]["en"]
    return qs


FACT_CHOICES = [{}, {"alipay_activity": "low"}, {"sesame_score": 630, "overdue_history": "never"},
                {"other_debt": "heavy", "credit_inquiries": "many"}, {"early_repayment": True},
                {"sesame_score": "63"}, {"borrower_type": "business", "income_change": "dropped"}]


def _records(bot, n: int, seed: int = 8) -> list[dict]:
    rng = random.Random(seed)
    qs = _questions(bot)
    records = []
    for i in range(n):
        r = {"question": rng.choice(qs)}
        facts = rng.choice(FACT_CHOICES)
        if facts:
            r["facts"] = facts
        if i % 17 == 0:
            r["lang"] = rng.choice(["zh", "en"])
        if i % 23 == 0:
            r["what_if"] = {"alipay_activity": "high"}
        records.append(r)
    return records


def _expected(bot, r: dict) -> str:
    advice = bot.advise(r["question"].strip(), facts=r.get("facts"), lang=r.get("lang", "auto"),
                        what_if=r.get("what_if"))
    return json.dumps(advice, ensure_ascii=False)


def _write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_order_kept_and_identical_to_one_by_one(bot, tmp_path, capsys, jobs):
    records = _records(bot, 300)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_jsonl(src, records)
    assert main(["batch", str(src), "-o", str(out), "--jobs", jobs]) == 0
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""                     # every line ends with a newline
    lines = lines[:-1]
    assert len(lines) == len(records)
    for r, line in zip(records, lines):
        assert line == _expected(bot, r)
        assert json.loads(line)["question"] == r["question"]  # order: each answer is its own line's
    assert "300 of 300 line(s) answered" in capsys.readouterr().err


def test_parallel_and_serial_give_the_same_bytes(bot, tmp_path):
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, _records(bot, 200, seed=3))
    outs = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"out{jobs}.jsonl"
        assert main(["batch", str(src), "-o", str(out), "--jobs", jobs]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_same_as_ask_format_json(bot, tmp_path):
    cases = [{"question": "芝麻分630从未逾期,借呗被关了", "facts": {"alipay_activity": "low"}},
             {"question": "my jiebei limit was cut", "what_if": {"other_debt": "none"}},
             {"question": "今天天气怎么样"}]
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, cases)
    done = run_cli("batch", str(src))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for case, line in zip(cases, lines):
        args = ["ask", "--format", "json", case["question"]]
        for k, v in case.get("facts", {}).items():
            args += ["--fact", f"{k}={v}"]
        for k, v in case.get("what_if", {}).items():
            args += ["--what-if", f"{k}={v}"]
        asked = run_cli(*args)
        assert asked.returncode == 0, asked.stderr
        # the same Advice, byte for byte, only on one line instead of indented
        assert asked.stdout == json.dumps(json.loads(line), ensure_ascii=False, indent=2) + "\n"
        assert line == json.dumps(json.loads(asked.stdout), ensure_ascii=False)


BAD = [
    ("not json at all", "not valid JSON"),
    ('{"question": "借呗为什么被关了"', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"just a string"', "must be a JSON object"),
    ('{"facts": {"alipay_activity": "low"}}', 'no "question"'),
    ('{"question": 42}', '"question" must be text'),
    ('{"question": "   "}', "the question is empty"),
    ('{"question": "借呗关了", "facts": {"sesame_score": "很多"}}', "sesame_score"),
    ('{"question": "借呗关了", "facts": {"sesame_score": 1e999}}', "sesame_score"),
    ('{"question": "借呗关了", "facts": {"no_such_fact": 1}}', "no_such_fact"),
    ('{"question": "借呗关了", "facts": ["alipay_activity"]}', '"facts" must be an object'),
    ('{"question": "借呗关了", "what_if": {"age": 30}}', "what-if"),
    ('{"question": "借呗关了", "lang": "fr"}', '"lang"'),
    ("[" * 100000 + "]" * 100000, "Line"),
]


def test_bad_lines_give_error_records_and_the_rest_goes_on(bot, tmp_path, capsys):
    good = _records(bot, 60, seed=5)
    lines: list[str] = []
    expected: list[tuple[str, object]] = []
    rng = random.Random(1)
    bad = list(BAD)
    for r in good:
        lines.append(json.dumps(r, ensure_ascii=False))
        expected.append(("ok", r))
        if bad and rng.random() < 0.4:
            text, why = bad.pop()
            lines.append(text)
            expected.append(("bad", why))
    for text, why in bad:
        lines.append(text)
        expected.append(("bad", why))
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe not utf-8\n")
    expected.append(("bad", "not UTF-8"))
    assert main(["batch", str(src), "-o", str(out), "--jobs", "2"]) == 0
    got = out.read_text(encoding="utf-8").splitlines()
    assert len(got) == len(expected)
    n_bad = 0
    for number, ((kind, what), line) in enumerate(zip(expected, got), 1):
        if kind == "ok":
            assert line == _expected(bot, what)
        else:
            n_bad += 1
            record = json.loads(line)
            assert list(record) == ["line", "error"]
            assert record["line"] == number
            assert what in record["error"]
            assert "\n" not in record["error"] and record["error"].endswith(".")
            assert "Traceback" not in record["error"]
    err = capsys.readouterr().err
    assert f"{len(expected) - n_bad} of {len(expected)} line(s) answered" in err
    assert f"{n_bad} error record(s)" in err
    assert "Traceback" not in err


def test_blank_lines_are_skipped_and_line_numbers_count_them(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('\n{"question": "借呗为什么被关了"}\n   \n\nnope\n', encoding="utf-8")
    assert main(["batch", str(src)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert json.loads(out[0])["match"]["topic"] == "why_closed"
    assert json.loads(out[1]) == {"line": 5, "error": json.loads(out[1])["error"]}


def test_empty_input_writes_nothing(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("", encoding="utf-8")
    assert main(["batch", str(src)]) == 0
    assert capsys.readouterr().out == ""


def test_output_refuses_to_overwrite_without_force(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
    out.write_text("keep me\n", encoding="utf-8")
    done = run_cli("batch", str(src), "-o", str(out))
    assert done.returncode == 4
    assert "already exists" in done.stderr and "--force" in done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"
    done = run_cli("batch", str(src), "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["match"]["topic"] == "why_closed"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_output_file_is_private(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "new.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
    old = os.umask(0o022)
    try:
        assert main(["batch", str(src), "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["missing_dir", "is_dir"])
def test_unwritable_output_exits_4(tmp_path, where):
    src = tmp_path / "in.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
    target = tmp_path / "no" / "such" / "out.jsonl" if where == "missing_dir" else tmp_path
    done = run_cli("batch", str(src), "-o", str(target))
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_output_failure_at_write_time_exits_4(tmp_path, monkeypatch, capsys):
    """The file appears while the batch runs: the write refuses to clobber it."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
    real = batch.answers

    def answers(*a, **k):
        out.write_text("someone else's\n", encoding="utf-8")
        yield from real(*a, **k)

    monkeypatch.setattr(batch, "answers", answers)
    assert main(["batch", str(src), "-o", str(out)]) == 4
    assert out.read_text(encoding="utf-8") == "someone else's\n"
    assert "already exists" in capsys.readouterr().err


def test_usage_errors(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n', encoding="utf-8")
    for args, code in [(["batch", str(tmp_path / "missing.jsonl")], 2),
                       (["batch", str(tmp_path)], 2),
                       (["batch", str(src), "--force"], 2),
                       (["batch", str(src), "--jobs", "-1"], 2),
                       (["batch", str(src), "--jobs", "x"], 2),
                       (["batch"], 2),
                       (["batch", str(src), "--kb", str(tmp_path)], 3)]:
        done = run_cli(*args)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.startswith("credit-assistant: ") and done.stderr.count("\n") == 1
        assert done.stdout == ""


def test_stdin_input(bot):
    lines = '{"question": "借呗为什么被关了"}\n{"question": "how do I raise my sesame score"}\n'
    done = run_cli("batch", "-", stdin=lines)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out == [_expected(bot, {"question": "借呗为什么被关了"}),
                   _expected(bot, {"question": "how do I raise my sesame score"})]


def test_progress_bar_only_on_a_terminal(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"question": "借呗为什么被关了"}\n' * 60, encoding="utf-8")
    plain = run_cli("batch", str(src), "-o", str(tmp_path / "a.jsonl"))
    assert plain.returncode == 0
    assert "\r" not in plain.stderr and "[#" not in plain.stderr

    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "assistant", "batch", str(src), "-o",
                               str(tmp_path / "b.jsonl")], stderr=follower, stdout=subprocess.PIPE,
                              cwd=ROOT, timeout=60)
        os.close(follower)
        follower = None
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0
    text = seen.decode("utf-8", "replace")
    assert "60/60" in text and "[" + "#" * batch.Progress.WIDTH + "]" in text
    assert "60 of 60 line(s) answered" in text
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def test_a_bug_on_one_line_is_an_error_record_not_a_crash(bot, monkeypatch):
    def broken(*a, **k):
        raise KeyError("boom")

    monkeypatch.setattr(bot, "advise", broken)
    record = json.loads(batch.answer_line(bot, 3, '{"question": "借呗为什么被关了"}'))
    assert record == {"line": 3, "error": "Line 3 could not be answered (internal error: KeyError)."}


def test_the_documented_example_line_is_answered(bot, tmp_path, capsys):
    from assistant.cli import BATCH_NOTES

    example = BATCH_NOTES.splitlines()[1].strip()
    record = json.loads(example)
    src = tmp_path / "in.jsonl"
    src.write_text(example + "\n", encoding="utf-8")
    assert main(["batch", str(src)]) == 0
    out = capsys.readouterr().out
    assert out == _expected(bot, record) + "\n"
    assert json.loads(out)["what_if"]["changes"] == {"other_debt": "none"}


def _die_on_line_7(item):
    if item[0] == 7:
        os.kill(os.getpid(), 9)          # as the kernel's out-of-memory killer would
    return batch.answer_line(batch._BOT, *item)


def test_a_killed_worker_ends_the_run_with_a_sentence_not_a_hang(bot, monkeypatch):
    import signal

    monkeypatch.setattr(batch, "_work", _die_on_line_7)     # forked workers inherit the patch
    items = [(n, "借呗为什么被关了") for n in range(1, batch.SERIAL_BELOW * 2)]
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the run hung after a worker died"))
    signal.alarm(60)
    try:
        with pytest.raises(batch.AssistantError, match="worker process stopped unexpectedly"):
            list(batch.answers(bot, None, items, 2))
    finally:
        signal.alarm(0)
