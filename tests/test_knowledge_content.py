"""The shipped knowledge base: every contract id, bilingual, sourced, honest about what is unconfirmed."""

from __future__ import annotations

import re

import pytest

from assistant.knowledge import _example_key

CONTRACT = {
    "topics": "why_closed limit_reduced entry_missing repaid_no_limit not_eligible how_to_reopen "
              "contact_support score_meaning improve_score assessment_factors credit_report_impact "
              "outstanding_balance early_repayment linked_products product_switch funding_alternatives "
              "business_cash_flow lender_practices help",
    "causes": "low_activity thin_profile policy_tightening funding_change linked_product_risk multi_lending "
              "credit_inquiries overdue_record repayment_pattern identity_change account_risk income_drop "
              "periodic_reevaluation",
    "remedies": "contact_support build_activity complete_profile diversify_funding reduce_debt "
                "pause_applications check_credit_report secure_account keep_repaying wait_for_reevaluation "
                "plan_cash_flow escalate_complaint avoid_scams",
    "impacts": "cash_flow_break credit_image fewer_channels",
    "lessons": "multi_dimensional_assessment explain_and_appeal early_warning",
    "facts": "sesame_score product_status overdue_history alipay_activity other_debt credit_inquiries "
             "early_repayment linked_product_issue info_changed account_alert credit_report_negative "
             "income_change borrower_type age",
}


@pytest.fixture(scope="module")
def listing(bot):
    return bot.kb.listing()


QUESTIONS = {"examples", "keywords", "patterns", "replies"}   # what users say, not what we claim


def _texts(obj, claims_only=False):
    """Every string inside a knowledge-base entry (only our own statements, with claims_only)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if not (claims_only and k in QUESTIONS):
                yield from _texts(v, claims_only)
    elif isinstance(obj, list):
        for v in obj:
            yield from _texts(v, claims_only)


@pytest.mark.parametrize("kind", list(CONTRACT))
def test_every_contract_id_with_chinese_and_english_text(listing, kind):
    entries = {e["id"]: e for e in listing[kind]}
    for cid in CONTRACT[kind].split():
        assert cid in entries, f"{kind}: {cid} missing"
        title = entries[cid]["title"]
        assert re.search(r"[\u4e00-\u9fff]", title["zh"]) and re.search(r"[A-Za-z]", title["en"]), (kind, cid)


def test_topics_have_direct_answers_and_enough_examples(bot):
    for tid, t in bot.kb.topics.items():
        assert t["answer"]["zh"] and t["answer"]["en"]
        assert len(t["examples"]["zh"]) >= 12, tid
        assert len(t["examples"]["en"]) >= 6, tid


def test_no_example_question_appears_under_two_topics(bot):
    owner = {}
    for tid, t in bot.kb.topics.items():
        for q in t["examples"]["zh"] + t["examples"]["en"]:
            key = _example_key(q)
            assert owner.setdefault(key, tid) == tid, f"{q!r} is under {owner[key]} and {tid}"


def test_every_fact_value_used_in_a_rule_is_allowed(bot):
    for cid, cause in bot.kb.causes.items():
        for rule in cause["rules"]:
            fact = bot.kb.facts[rule["fact"]]
            if fact["type"] == "int":
                continue
            allowed = [v["id"] for v in fact["values"]]
            for value in ([rule["value"]] if rule["value"] is not None else rule["values"] or []):
                assert any(value == a and type(value) is type(a) for a in allowed), (cid, rule)


def test_causes_have_rules_remedies_and_sources(bot):
    for cid, cause in bot.kb.causes.items():
        assert cause["rules"] and cause["remedies"] and cause["sources"], cid
        assert all(r in bot.kb.remedies for r in cause["remedies"])
        assert cause["never_overdue"]["zh"] and cause["never_overdue"]["en"]
    anyone = {c for c, cause in bot.kb.causes.items() if cause["scope"] == "anyone"}
    assert anyone == {"policy_tightening", "funding_change", "periodic_reevaluation"}


def test_never_overdue_lowers_overdue_record_and_activity_lowers_low_activity(bot):
    def points(cause, fact, value):
        return sum(r["points"] for r in bot.kb.causes[cause]["rules"]
                   if r["fact"] == fact and r["value"] == value)
    assert points("overdue_record", "overdue_history", "never") < 0
    assert points("low_activity", "alipay_activity", "high") < 0


def test_sources_support_numbers_and_range(bot, listing):
    assert len(bot.kb.sources) >= 8
    for s in bot.kb.sources.values():
        assert s["url"].startswith("http") and s["title"] and s["seen"]
    everything = " ".join(_texts(listing))
    assert "95188" in everything
    assert "350–950" in everything or "350-950" in everything


def test_every_remedy_has_ordered_steps_in_both_languages(bot):
    for rid, r in bot.kb.remedies.items():
        assert len(r["steps"]["zh"]) >= 3 and len(r["steps"]["en"]) >= 3, rid


# Claims our sources mark as unconfirmed: wherever they appear, the same sentence must hedge.
UNCONFIRMED = [
    (r"12378|12363", r"常被提到|未能核实|未经核实|未核实|未经证实|commonly|could not confirm|unconfirmed|not confirmed"),
    (r"(?:600|六百)分?(?:以上)?[^。.;;]{0,12}(?:开通|邀请|门槛|invit|threshold)|(?:invit|threshold)[^.;]{0,30}600",
     r"常|据说|传言|报道|未经|未证实|并非官方|not official|reported|said|rumou?r|unconfirmed|commonly|claim"),
    (r"18\s*[–~-]\s*55|55\s*岁|age (?:limit|cap)|aged? (?:over|above) 55",
     r"常|据说|未经|未证实|reported|said|unconfirmed|commonly|claim|people say"),
    (r"借呗[^。.;;]{0,12}(?:上|报送|出现在)征信|jiebei[^.;]{0,40}(?:appear|report)[^.;]{0,20}credit report",
     r"广泛报道|被报道|常被|官方[^。]{0,6}(?:未|没有)确认|未经|commonly|widely reported|not (?:been )?officially confirmed|unconfirmed|reportedly"),
]


def test_unconfirmed_claims_appear_only_as_commonly_reported(listing):
    # support contacts carry the flag instead, shown as "commonly cited, unconfirmed"
    for contact in listing["support"]:
        if re.search(UNCONFIRMED[0][0], contact["value"]):
            assert contact["confirmed"] is False
    statements = {k: v for k, v in listing.items() if k != "support"}
    for text in _texts(statements, claims_only=True):
        for sentence in re.split(r"(?<=[。!?！？])|(?<=[.!?])\s", text):
            for claim, hedge in UNCONFIRMED:
                if re.search(claim, sentence, re.I):
                    assert re.search(hedge, sentence, re.I), sentence


def test_the_platform_model_is_never_claimed_known(listing):
    boasts = re.compile(r"(?:我们|本助手)(?:知道|掌握|了解)(?:平台|蚂蚁|支付宝)的?(?:内部)?(?:模型|算法)|"
                        r"we know (?:the|its|alipay's|ant's) (?:internal )?(?:model|algorithm)", re.I)
    assert not [t for t in _texts(listing, claims_only=True) if boasts.search(t)]
