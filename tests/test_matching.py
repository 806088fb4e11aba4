"""Matching holds on questions the knowledge base has never seen (tests/data/questions.yaml)."""

from __future__ import annotations

import json

import pytest

from assistant.evaluate import evaluate, load_cases
from assistant.knowledge import _example_key
from conftest import DATA


@pytest.fixture(scope="module")
def report(bot):
    return evaluate(bot, load_cases(DATA / "questions.yaml"))


def test_hold_out_is_really_held_out(bot):
    examples = {_example_key(q) for t in bot.kb.topics.values() for lang in ("zh", "en") for q in t["examples"][lang]}
    examples |= {_example_key(q) for lang in ("zh", "en") for q in bot.kb.scope["out_of_scope"][lang]}
    cases = load_cases(DATA / "questions.yaml")
    assert len(cases) >= 150 and sum(1 for _, t in cases if t is None) >= 30
    leaked = [text for text, _ in cases if _example_key(text) in examples]
    assert not leaked, f"hold-out questions that are also knowledge-base examples: {leaked}"


def test_matching_thresholds(report):
    assert report["top1"] >= 0.90, report["confused"]
    assert report["top3"] >= 0.97
    assert report["oos_recall"] >= 0.90
    assert report["false_abstain"] <= 0.05


def test_eval_command_prints_text_and_json(cli):
    text = cli("eval", str(DATA / "questions.yaml"))
    assert text.returncode == 0
    assert "top-1 accuracy" in text.stdout and "most confused" in text.stdout
    data = json.loads(cli("eval", str(DATA / "questions.yaml"), "--format", "json").stdout)
    assert {"n", "top1", "top3", "oos_recall", "false_abstain", "per_topic"} <= set(data)
    assert set(data["per_topic"]["why_closed"]) >= {"precision", "recall"}


def test_eval_rejects_a_bad_file(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {text: hi}\n", encoding="utf-8")
    proc = cli("eval", str(bad))
    assert proc.returncode == 2 and "item 1" in proc.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("- {text: hi, topic: no_such_topic}\n", encoding="utf-8")
    assert cli("eval", str(unknown)).returncode == 2


@pytest.mark.parametrize("question", ["今天天气怎么样", "红烧肉怎么做", "支付宝支付密码忘了怎么办",
                                      "余额宝收益怎么这么低", "抢到的红包在哪里看", "what's the weather in Beijing"])
def test_out_of_scope_is_recognised(bot, question):
    advice = bot.ask(question)
    assert advice.match.abstained and advice.match.topic is None
    assert advice.match.alternatives, "an abstention offers the nearest topics"


@pytest.mark.parametrize("question, topic", [
    ("借貝為什麼被關了", "why_closed"),
    ("jiebei closed for no reason, never late", "why_closed"),
    ("额度从5万降到5000了", "limit_reduced"),
    ("芝麻分63算高吗", "score_meaning"),
    ("95188打不通怎么办", "contact_support"),
])
def test_variants_and_typos(bot, question, topic):
    assert bot.ask(question).match.topic == topic


def test_confidence_is_in_range_and_alternatives_are_topics(bot):
    for q in ("借呗", "???", "借呗关了会影响房贷吗", ""):
        m = bot.match(q)
        assert 0 <= m["confidence"] <= 1
        assert all(a["topic"] in bot.kb.topics for a in m["alternatives"])
