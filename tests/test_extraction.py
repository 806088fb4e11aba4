"""Fact extraction: exactly right on at least 95 % of labelled cases, negations included."""

from __future__ import annotations

import pytest
import yaml

from assistant.normalise import normalise
from conftest import DATA


def _extract(bot, text):
    norm = normalise(text, bot.kb.derived["normalise"], bot.kb.settings["input_limit"])
    return bot.extractor.extract(norm.text)[0]


def test_extraction_accuracy(bot):
    cases = yaml.safe_load((DATA / "facts.yaml").read_text(encoding="utf-8"))
    wrong = [(c["text"], c["facts"], _extract(bot, c["text"])) for c in cases
             if _extract(bot, c["text"]) != (c["facts"] or {})]
    assert len(cases) >= 300
    assert 1 - len(wrong) / len(cases) >= 0.95, wrong[:10]


@pytest.mark.parametrize("text, facts", [
    ("没有网贷", {"other_debt": "none"}),
    ("从不提前还款", {"early_repayment": False}),
    ("没换过手机号", {"info_changed": False}),
    ("芝麻分六百五", {"sesame_score": 650}),
    ("芝麻分七百", {"sesame_score": 700}),
    ("额度从5万降到5000", {"product_status": "reduced"}),
    ("额度从5万降到0", {"product_status": "closed"}),
    ("I have never been late and I have no other loans", {"overdue_history": "never", "other_debt": "none"}),
    ("我儿子今年8岁", {}),
    ("提前还款会影响借呗吗", {}),
    ("电话138****1234", {}),
    ("芝麻分63算高吗", {"sesame_score": 63}),           # a score stated inside a question is stated
    ("18岁能开通借呗吗", {}),                            # a general question about age
])
def test_phrases(bot, text, facts):
    assert _extract(bot, text) == facts


def test_impossible_score_is_kept_and_flagged(bot):
    advice = bot.ask("芝麻分63")
    assert advice.facts["sesame_score"] == 63
    w = next(w for w in advice.warnings if w.fact == "sesame_score")
    assert w.code == "score_out_of_range" and w.suggestion == 630
    high = bot.ask("芝麻分1000")
    assert any(w.code == "score_out_of_range" and w.fact == "sesame_score" for w in high.warnings)


def test_short_reply_answers_the_follow_up(bot):
    chat = bot.conversation()
    first = chat.send("借呗为什么被关了")
    asked = first.follow_up[0]
    option = asked.options[0]
    second = chat.send(option.label)
    assert second.facts[asked.fact] == option.value
    assert second.match.topic == "why_closed"
