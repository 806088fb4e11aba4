"""The learned reader: it adds only facts the patterns did not read, only when sure, never about
someone else, always says it read them; its weights file is checked like the rest of the knowledge
base and was trained on the labelled data as it is now."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from assistant import Assistant, knowledge
from assistant.reader import FEATURES_VERSION, features
from conftest import DATA, KB_DIR, ROOT

sys.path.insert(0, str(ROOT / "tools"))


def _tiny_model(**facts) -> dict:
    """reader.json with hand-set weights: each `fact=(value, feature)` pair reads `value` from `feature`."""
    out = {}
    for key, (value, feature) in facts.items():
        out[key] = {"values": [None, value], "bias": [2.0, -2.0], "weights": {feature: [-4.0, 4.0]}}
    return {"features_version": FEATURES_VERSION, "facts": out}


@pytest.fixture
def tiny_bot(kb_copy):
    """The shipped knowledge base with a reader that knows two phrases the patterns do not."""
    model = _tiny_model(alipay_activity=("high", "w:zorblax"), income_change=("dropped", "w:quimby"))
    (kb_copy / "reader.json").write_text(json.dumps(model), encoding="utf-8")
    return Assistant.load(kb_copy)


def test_reads_what_the_patterns_miss_and_says_so(tiny_bot):
    advice = tiny_bot.ask("my jiebei was closed, i zorblax all the time")
    assert advice.facts["alipay_activity"] == "high"
    assert advice.facts["product_status"] == "closed"          # the patterns' reading stays
    notice = next(n for n in advice.notices if n.code == "fact_read")
    assert notice.fact == "alipay_activity"
    assert "i zorblax all the time" in notice.message           # quotes the words it rests on
    assert "zorblax" in advice.answer


def test_reads_nothing_below_the_threshold(kb_copy):
    model = _tiny_model(alipay_activity=("high", "w:zorblax"))
    model["facts"]["alipay_activity"]["weights"]["w:zorblax"] = [-1.0, 1.0]   # about 50 % sure
    (kb_copy / "reader.json").write_text(json.dumps(model), encoding="utf-8")
    advice = Assistant.load(kb_copy).ask("i zorblax all the time")
    assert "alipay_activity" not in advice.facts
    assert not [n for n in advice.notices if n.code == "fact_read"]


def test_never_over_a_fact_the_patterns_read_or_the_user_gave(tiny_bot):
    advice = tiny_bot.ask("i zorblax all the time, but i rarely use alipay")
    assert advice.facts["alipay_activity"] == "low"
    advice = tiny_bot.ask("i zorblax all the time", facts={"alipay_activity": "normal"})
    assert advice.facts["alipay_activity"] == "normal"
    assert not advice.warnings


def test_not_about_someone_else(tiny_bot):
    assert "alipay_activity" not in tiny_bot.ask("my wife says she zorblax all the time").facts
    assert "income_change" not in tiny_bot.ask("我老婆说她quimby了").facts


def test_a_reading_does_not_overwrite_an_earlier_answer(tiny_bot):
    chat = tiny_bot.conversation()
    chat.send("我很少用支付宝")
    advice = chat.send("i zorblax all the time, why was jiebei closed")
    assert advice.facts["alipay_activity"] == "low"


def test_markdown_escapes_the_quoted_words(tiny_bot):
    advice = tiny_bot.advise("i zorblax **all** the [time](http://x)")
    md = tiny_bot.renderer.render("markdown", advice)
    line = next(x for x in md.splitlines() if "zorblax" in x)
    assert "**all**" not in line and "](http" not in line


def test_without_a_reader_file_the_patterns_answer_alone(kb_copy):
    (kb_copy / "reader.json").unlink()
    bot = Assistant.load(kb_copy)
    assert bot.read_facts("芝麻分650,借呗被关了") == {"sesame_score": 650, "product_status": "closed"}


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m["facts"]["alipay_activity"].update(values=[None, "sky_high"]),
     "reader.json: facts.alipay_activity.values[1]: 'sky_high' is not a value of fact alipay_activity"),
    (lambda m: m["facts"]["alipay_activity"].update(bias=[1.0]),
     "reader.json: facts.alipay_activity: bias has 1 numbers for 2 values"),
    (lambda m: m["facts"].update(moon_phase=m["facts"]["alipay_activity"]),
     "reader.json: facts.moon_phase: unknown fact 'moon_phase'"),
    (lambda m: m["facts"].update(sesame_score=m["facts"]["alipay_activity"]),
     "reader.json: facts.sesame_score: the reader reads named values; sesame_score is a number"),
    (lambda m: m.update(features_version=FEATURES_VERSION + 1),
     f"reader.json: features_version: {FEATURES_VERSION + 1} is not the reader's {FEATURES_VERSION}"),
])
def test_a_bad_weights_file_is_named_by_file_and_field(kb_copy, edit, expected):
    model = _tiny_model(alipay_activity=("high", "w:zorblax"))
    edit(model)
    (kb_copy / "reader.json").write_text(json.dumps(model), encoding="utf-8")
    _, problems = knowledge.validate(kb_copy)
    assert any(p.startswith(expected) for p in problems), problems


def test_broken_json_is_a_knowledge_base_error(kb_copy, cli):
    (kb_copy / "reader.json").write_text('{"facts": {', encoding="utf-8")
    result = cli("kb", "check", "--kb", str(kb_copy))
    assert result.returncode == 3
    assert "reader.json: line 1" in result.stdout + result.stderr


def test_the_shipped_reader_was_trained_on_the_data_as_it_is():
    from train_reader import data_fingerprint

    model = json.loads((KB_DIR / "reader.json").read_text(encoding="utf-8"))
    assert model["features_version"] == FEATURES_VERSION
    assert model["trained_on"]["sha256"] == data_fingerprint(), \
        "tests/data changed since knowledge/reader.json was trained: run `make reader`"


def test_features_are_character_ngrams_and_words():
    assert {"^借呗", "借呗被", "关了$", "w:jiebei", "b:was_closed"} <= set(features("借呗被关了 jiebei was closed"))
    assert features("…") == []


def test_the_facts_stage_reads_the_labelled_cases(bot):
    """Patterns and reader together, on the labelled data the reader was trained on: a regression
    check that the reader adds more than it breaks (the figures on unseen text are the blind
    rounds in the README)."""
    from test_extraction import _extract

    cases = yaml.safe_load((DATA / "facts.yaml").read_text(encoding="utf-8"))[::20]
    both = sum(bot.read_facts(c["text"]) == (c["facts"] or {}) for c in cases)
    patterns = sum(_extract(bot, c["text"]) == (c["facts"] or {}) for c in cases)
    assert both / len(cases) >= 0.96
    assert both > patterns


def test_a_read_fact_is_not_called_something_the_user_said(tiny_bot):
    advice = tiny_bot.advise("借呗被关了, i zorblax all the time, quimby")
    assert {"alipay_activity", "income_change"} <= set(advice["facts"])
    titles = [tiny_bot.kb.facts[k]["title"]["zh"] for k in ("alipay_activity", "income_change")]
    text = tiny_bot.renderer.render("text", advice, all_causes=True)
    lines = [x for x in text.splitlines() if any(t + " =" in x for t in titles)]
    assert lines and all("从你的话推断" in x and "因为你说" not in x for x in lines)
    closed = next(x for x in text.splitlines() if tiny_bot.kb.facts["product_status"]["title"]["zh"] + " =" in x)
    assert "因为你说" in closed
    export = tiny_bot.renderer.render("export", advice)
    rows = [x for x in export.splitlines() if any(x.startswith(f"| {t} |") for t in titles)]
    assert len(rows) == 2 and all("(推断)" in x for x in rows)
    assert all(t + " = " not in x or "(推断)" in x for x in export.splitlines() for t in titles)
