"""The transparent scorer: every point traces to a rule and a fact; what-if; follow-ups."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import scoring
from assistant.errors import UsageError

FIXED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _fact_values(kb):
    """A strategy for a dict of valid facts, drawn from the knowledge base's own fact definitions."""
    per_key = {}
    for key, fact in kb.facts.items():
        if fact["type"] == "int":
            per_key[key] = st.integers(fact["valid"]["min"], fact["valid"]["max"])
        else:
            per_key[key] = st.sampled_from([v["id"] for v in fact["values"]])
    return st.fixed_dictionaries({}, optional=per_key)


@pytest.fixture(scope="module")
def kb(bot):
    return bot.kb


def _cause(causes, cid):
    return next(c for c in causes if c["id"] == cid)


def test_seed_article_question(bot):
    advice = bot.ask("芝麻信用分63借呗从未逾期却被关闭")
    warning = next(w for w in advice.warnings if w.code == "score_out_of_range")
    assert warning.fact == "sesame_score" and warning.suggestion == 630
    assert "630" in warning.message
    assert advice.facts["sesame_score"] == 63
    # the impossible score is never scored
    for cause in advice.causes:
        assert all(c.fact != "sesame_score" for c in cause.contributions)
    remedies = [r.id for r in advice.remedies]
    for needed in ("contact_support", "build_activity", "diversify_funding"):
        assert needed in remedies
    assert advice.causes, "a closure question ranks causes"


def test_user_facts_rank_their_causes(bot):
    advice = bot.ask("借呗为什么被关了", facts={"alipay_activity": "low", "other_debt": "heavy",
                                               "overdue_history": "never"})
    top3 = [c.id for c in advice.causes[:3]]
    assert "low_activity" in top3 and "multi_lending" in top3
    points = [c.points for c in advice.causes]
    assert points == sorted(points, reverse=True)
    for cause in advice.causes:
        assert cause.points == sum(c.points for c in cause.contributions)
        assert all(c.fact in advice.facts for c in cause.contributions)
        assert all(c.fact != "age" for c in cause.contributions)   # a fact not given contributes nothing
    overdue = next(c for c in advice.causes if c.id == "overdue_record")
    assert all(c.points < 0 for c in overdue.contributions if c.fact == "overdue_history")


def test_what_if_lowers_multi_lending(bot):
    advice = bot.ask("借呗为什么被关了", facts={"other_debt": "heavy"}, what_if={"other_debt": "none"})
    before = _cause([c.model_dump() for c in advice.what_if.causes_before], "multi_lending")
    after = _cause([c.model_dump() for c in advice.what_if.causes_after], "multi_lending")
    assert after["points"] < before["points"]
    assert advice.what_if.changes == {"other_debt": "none"}


def test_what_if_refuses_immutable_facts(bot):
    with pytest.raises(UsageError, match="age"):
        bot.ask("借呗为什么被关了", what_if={"age": 30})


def test_what_if_cli(cli):
    proc = cli("ask", "--fact", "other_debt=heavy", "--what-if", "other_debt=none", "--format", "json",
               "借呗为什么被关了")
    assert proc.returncode == 0, proc.stderr
    import json

    wi = json.loads(proc.stdout)["what_if"]
    before = _cause(wi["causes_before"], "multi_lending")["points"]
    after = _cause(wi["causes_after"], "multi_lending")["points"]
    assert after < before
    refused = cli("ask", "--what-if", "age=30", "借呗为什么被关了")
    assert refused.returncode == 2 and "age" in refused.stderr


def test_two_turn_conversation_carries_facts_and_reranks(bot):
    chat = bot.conversation()
    first = chat.send("借呗突然被关了,我从来没逾期过")
    second = chat.send("我很少用支付宝,网贷也有好几个")
    assert second.facts["overdue_history"] == "never"          # carried over
    assert second.match.topic == first.match.topic              # stays on the closure
    first_points = {c.id: c.points for c in first.causes}
    second_points = {c.id: c.points for c in second.causes}
    assert second_points["low_activity"] > first_points["low_activity"]
    assert second_points["multi_lending"] > first_points["multi_lending"]
    assert {c.id for c in second.causes[:3]} >= {"low_activity", "multi_lending"}


def test_later_statement_overrides_and_says_so(bot):
    chat = bot.conversation()
    chat.send("借呗被关了,我很少用支付宝")
    later = chat.send("其实我天天用支付宝")
    assert later.facts["alipay_activity"] == "high"
    assert any(n.code == "fact_updated" and n.fact == "alipay_activity" for n in later.notices)


def test_a_fact_can_be_removed(bot):
    chat = bot.conversation()
    chat.send("借呗被关了,我很少用支付宝")
    assert chat.forget("alipay_activity")
    again = chat.reanswer()
    assert "alipay_activity" not in again.facts
    assert all(c.fact != "alipay_activity" for cause in again.causes for c in cause.contributions)


def test_contradiction_asks_which_is_true(bot):
    advice = bot.ask("借呗从未逾期,但是现在逾期了,额度被关了")
    warning = next(w for w in advice.warnings if w.code == "contradictory_facts")
    assert warning.fact == "overdue_history"
    assert "overdue_history" not in advice.facts


def test_impossible_age_is_a_warning_not_a_fact_scored(bot):
    advice = bot.ask("借呗被关了", facts={"age": 130})
    assert any(w.code == "age_out_of_range" for w in advice.warnings)
    assert all(c.fact != "age" for cause in advice.causes for c in cause.contributions)


def test_follow_ups_never_ask_what_is_known(bot):
    advice = bot.ask("借呗为什么被关了", facts={"alipay_activity": "low", "other_debt": "heavy"})
    asked = [f.fact for f in advice.follow_up]
    assert 1 <= len(asked) <= 3
    assert not set(asked) & set(advice.facts)
    assert all(f.question for f in advice.follow_up)


def test_platform_causes_are_not_the_users_fault(bot):
    advice = bot.ask("借呗被关了,我从不逾期,也没有网贷,天天用支付宝")
    anyone = {c.id for c in advice.causes if c.scope == "anyone"}
    assert {"policy_tightening", "funding_change", "periodic_reevaluation"} <= anyone
    assert advice.causes[0].scope == "anyone"


# ------------------------------------------------------------------ properties


@FIXED
@given(data=st.data())
def test_points_always_equal_the_sum_of_contributions(kb, data):
    facts = data.draw(_fact_values(kb))
    ranked = scoring.rank(kb, facts, "en")
    for cause in ranked:
        assert cause["points"] == sum(c["points"] for c in cause["contributions"])
        assert cause["open_points"] >= 0
        assert {c["fact"] for c in cause["contributions"]} <= set(facts)
    assert [c["points"] for c in ranked] == sorted((c["points"] for c in ranked), reverse=True)


@FIXED
@given(data=st.data(), noise=st.text(min_size=1, max_size=12), value=st.one_of(st.integers(), st.text(), st.booleans()))
def test_a_fact_no_rule_mentions_changes_nothing(kb, data, noise, value):
    facts = data.draw(_fact_values(kb))
    used = {r["fact"] for c in kb.causes.values() for r in c["rules"]}
    key = "unused_" + noise
    if key in used:
        return
    assert scoring.rank(kb, {**facts, key: value}, "zh") == scoring.rank(kb, facts, "zh")


@FIXED
@given(data=st.data())
def test_same_input_same_output(bot, data):
    facts = data.draw(_fact_values(bot.kb))
    a = bot.advise("借呗为什么被关了", facts=facts)
    b = bot.advise("借呗为什么被关了", facts=dict(reversed(list(facts.items()))))
    assert a == b


@FIXED
@given(data=st.data())
def test_open_points_bound_what_unknown_facts_can_add(kb, data):
    facts = data.draw(_fact_values(kb))
    before = {c["id"]: c for c in scoring.rank(kb, facts, "en")}
    more = data.draw(_fact_values(kb))
    added = {k: v for k, v in more.items() if k not in facts}
    after = {c["id"]: c for c in scoring.rank(kb, {**facts, **added}, "en")}
    for cid, cause in before.items():
        assert after[cid]["points"] - cause["points"] <= cause["open_points"]


def test_a_statement_of_facts_stays_in_the_closure_analysis(bot):
    chat = bot.conversation()
    chat.send("借呗突然被关了")
    added = chat.send("我芝麻分700,网贷有三个")
    assert added.match.topic == "why_closed" and added.match.from_context
    assert added.facts["sesame_score"] == 700 and added.facts["other_debt"] == "heavy"
    assert added.causes[0].id == "multi_lending"
    question = chat.send("那会影响征信吗")           # a new question moves on
    assert question.match.topic == "credit_report_impact" and not question.match.from_context
