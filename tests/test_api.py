"""The Python API of the contract: Assistant.load().ask(), conversation(), history, facts."""

from __future__ import annotations

import json
import subprocess
import sys

from assistant import Advice, Assistant


def test_ask_returns_an_advice_model(bot):
    advice = bot.ask("芝麻分630从未逾期,借呗被关了", facts={"alipay_activity": "low"}, lang="auto")
    assert isinstance(advice, Advice)
    assert advice.lang == "zh"
    assert advice.facts["sesame_score"] == 630
    assert advice.facts["overdue_history"] == "never"
    assert advice.facts["alipay_activity"] == "low"
    assert advice.match.topic == "why_closed"


def test_model_dump_equals_the_json_of_ask(bot, cli):
    question = "借呗额度从5万降到5000,我很少用支付宝"
    dumped = bot.ask(question, facts={"other_debt": "some"}).model_dump(mode="json")
    proc = cli("ask", "--format", "json", "--fact", "other_debt=some", question)
    assert json.loads(proc.stdout) == dumped


def test_given_facts_are_checked(bot):
    import pytest

    from assistant.errors import UsageError

    with pytest.raises(UsageError):
        bot.ask("借呗被关了", facts={"other_debt": "lots"})


def test_conversation_accumulates_facts_and_history(bot):
    chat = bot.conversation()
    first = chat.send("借呗突然被关了,我从来没逾期过")
    second = chat.send("我很少用支付宝")
    assert [a.question for a in chat.history] == ["借呗突然被关了,我从来没逾期过", "我很少用支付宝"]
    assert chat.facts["overdue_history"] == "never"
    assert chat.facts["alipay_activity"] == "low"
    assert first is chat.history[0] and second is chat.history[1]


def test_importing_assistant_does_not_import_textual():
    code = ("import sys, assistant; a = assistant.Assistant.load(); a.ask('借呗被关了'); "
            "assert 'textual' not in sys.modules, 'textual imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_load_another_knowledge_base(kb_copy):
    other = Assistant.load(kb_dir=kb_copy)
    assert other.ask("借呗为什么被关了").match.topic == "why_closed"


def test_a_bare_statement_gets_the_analysis_of_what_it_states(bot):
    """No question, only facts including a cut: the user wants to know why it was cut; a
    question about the credit report stays a question about the credit report."""
    stated = bot.ask("额度从5万降到5000,网贷借了六七家,征信查询很多")
    assert stated.match.topic == "limit_reduced"
    assert stated.causes and stated.causes[0].points > 0
    asked = bot.ask("额度从5万降到5000,会影响征信吗")
    assert asked.match.topic == "credit_report_impact"
