"""The command line as a user meets it: help, exit codes, one-sentence errors, JSON of the contract."""

from __future__ import annotations

import json

ADVICE_KEYS = {"version", "lang", "question", "match", "facts", "warnings", "causes", "remedies",
               "follow_up", "what_if", "answer"}


def _one_sentence_error(proc):
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, err
    return err


def test_help_lists_every_command(cli):
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("chat", "ask", "kb", "eval", "batch"):
        assert command in proc.stdout


def test_ask_help_lists_every_option_of_the_contract(cli):
    proc = cli("ask", "--help")
    assert proc.returncode == 0
    for option in ("--fact", "--what-if", "--lang", "--format", "--export", "--force", "--kb"):
        assert option in proc.stdout


def test_kb_check_passes_on_the_shipped_knowledge_base(cli):
    proc = cli("kb", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK")


def test_kb_list_json_holds_every_kind(cli):
    proc = cli("kb", "list", "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    for kind in ("topics", "causes", "remedies", "impacts", "lessons", "facts", "sources"):
        assert data[kind], kind
        assert all("id" in entry for entry in data[kind])


def test_kb_check_names_the_file_with_a_yaml_error(cli, kb_copy):
    (kb_copy / "topics.yaml").write_text("- id: why_closed\n  title: {zh: x, en: [\n", encoding="utf-8")
    proc = cli("kb", "check", "--kb", str(kb_copy))
    assert proc.returncode == 3
    assert "topics.yaml: line" in proc.stdout
    _one_sentence_error(proc)


def test_ask_with_an_empty_knowledge_base_directory(cli, tmp_path):
    proc = cli("ask", "--kb", str(tmp_path), "借呗为什么被关了")
    assert proc.returncode == 3
    assert str(tmp_path) in _one_sentence_error(proc)
    assert proc.stdout == ""


def test_ask_with_a_missing_knowledge_base_directory(cli, tmp_path):
    proc = cli("ask", "--kb", str(tmp_path / "nowhere"), "借呗为什么被关了")
    assert proc.returncode == 3
    _one_sentence_error(proc)


def test_ask_json_has_every_key_of_the_contract(cli):
    proc = cli("ask", "--format", "json", "借呗为什么被关了")
    assert proc.returncode == 0, proc.stderr
    advice = json.loads(proc.stdout)
    assert ADVICE_KEYS <= set(advice)
    assert advice["version"] == 1
    assert advice["lang"] == "zh"
    assert set(advice["match"]) >= {"topic", "confidence", "abstained", "alternatives"}
    assert 0 <= advice["match"]["confidence"] <= 1
    assert advice["match"]["topic"] == "why_closed"
    assert advice["answer"].strip()


def test_ask_reads_the_question_from_stdin(cli):
    proc = cli("ask", "--format", "json", stdin="my jiebei was closed, why?\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["lang"] == "en"
    dash = cli("ask", "-", "--format", "json", stdin="借呗为什么被关了")
    assert json.loads(dash.stdout)["question"] == "借呗为什么被关了"


def test_bad_fact_is_a_usage_error(cli):
    proc = cli("ask", "--fact", "alipay_activity=sometimes", "借呗为什么被关了")
    assert proc.returncode == 2
    err = _one_sentence_error(proc)
    assert "alipay_activity" in err and "low" in err


def test_unknown_fact_and_malformed_assignment(cli):
    assert cli("ask", "--fact", "star_sign=leo", "x").returncode == 2
    assert cli("ask", "--fact", "nonsense", "x").returncode == 2


def test_empty_question_is_a_usage_error(cli):
    proc = cli("ask", stdin="   \n")
    assert proc.returncode == 2
    _one_sentence_error(proc)


def test_unknown_option_is_one_sentence_and_exit_2(cli):
    proc = cli("ask", "--colour", "x")
    assert proc.returncode == 2
    _one_sentence_error(proc)


def test_chat_without_a_terminal_points_to_ask(cli):
    proc = cli("chat", stdin="")
    assert proc.returncode == 2
    assert "ask" in _one_sentence_error(proc)


def test_piped_text_output_is_plain(cli):
    proc = cli("ask", "借呗为什么被关了")
    assert proc.returncode == 0
    assert "\x1b[" not in proc.stdout
    assert "95188" in proc.stdout
