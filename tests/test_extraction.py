"""Fact extraction: exactly right on at least 95 % of labelled cases, negations included; one-fact
phrases written blind are read."""

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


def test_one_fact_phrases(bot):
    """Thousands of ways to say one fact, written blind in probes: most of them are read."""
    cases = yaml.safe_load((DATA / "fact_phrases.yaml").read_text(encoding="utf-8"))
    right = sum(_extract(bot, c["text"]).get(k) == v for c in cases for k, v in c["facts"].items())
    assert len(cases) >= 4000
    assert right / len(cases) >= 0.85


@pytest.mark.parametrize("text, facts", [
    ("芝麻分720,哦不对,我刚看了下是702", {"sesame_score": 702}),           # a correction
    ("sesame 1000 lol jk it's 655.", {"sesame_score": 655}),
    ("我老婆芝麻分800,我才620", {"sesame_score": 620}),                     # the user's own, after another's
    ("花呗额度直接给砍成0", {"linked_product_issue": True}),                 # the subject is 花呗
    ("Wangshangdai got closed and Jiebei too", {"linked_product_issue": True, "product_status": "closed"}),
    ("逾期: 无", {"overdue_history": "never"}),                            # form-style answers
    ("提前还款:否", {"early_repayment": False}),
    ("Alipay usage: low", {"alipay_activity": "low"}),
    ("芝麻分735 借呗无法使用 逾期无 负债无", {"sesame_score": 735, "product_status": "closed",
                                          "overdue_history": "never", "other_debt": "none"}),
    ("提前还款这事我从来没有", {"early_repayment": False}),                   # denied after the phrase
    ("借呗被cut了一半", {"product_status": "reduced"}),                      # English typed inside Chinese
    ("帮我爸问的,他65岁了,借呗突然用不了", {}),                               # still about the father
    ("我老婆的借呗被关了,我的还好好的", {"product_status": "active"}),
    ("借呗没了 支付宝天天用", {"product_status": "closed", "alipay_activity": "high"}),
    ("我芝麻分是 7 2 8", {"sesame_score": 728}),
    ("i changed my bank card last week", {"info_changed": True}),           # not MYbank
    ("借呗逾期了会上征信吗", {}),                                            # asks what would follow
    ("我现在借呗逾期了五天,会上征信吗", {"overdue_history": "current"}),
    ("如果征信有逾期,借呗是不是就没了", {}),                                  # the if-clause reaches on
    ("没有网贷", {"other_debt": "none"}),
    ("从不提前还款", {"early_repayment": False}),
    ("没换过手机号", {"info_changed": False}),
    ("芝麻分六百五", {"sesame_score": 650}),
    ("芝麻分也700以上,借呗被关了", {"product_status": "closed"}),         # approximate: no number
    ("my score is like 700", {}),
    ("sesame 700+", {}),
    ("额度8000 芝麻分732", {"sesame_score": 732, "product_status": "active"}),   # 8000 is the limit
    ("没逾期没网贷支付宝天天用", {"overdue_history": "never", "other_debt": "none",
                              "alipay_activity": "high"}),           # 没 is about 网贷, not Alipay
    ("芝麻分七百", {"sesame_score": 700}),
    ("额度从5万降到5000", {"product_status": "reduced"}),
    ("额度从5万降到0", {"product_status": "closed"}),
    ("I have never been late and I have no other loans", {"overdue_history": "never", "other_debt": "none"}),
    ("我儿子今年8岁", {}),
    ("提前还款会影响借呗吗", {}),
    ("电话138****1234", {}),
    ("芝麻分63算高吗", {"sesame_score": 63}),           # a score stated inside a question is stated
    ("18岁能开通借呗吗", {}),                            # a general question about age
    ("我是学生,今年20岁", {"age": 20}),                   # an occupation alone is no borrower type
    ("I'm an office worker", {}),
    ("我老婆开店的,我自己是上班族", {"borrower_type": "personal"}),  # set against her business
    ("借钱就是自己装修用,不做生意", {"borrower_type": "personal"}),
    ("信用卡逾期过,已经还清了", {"credit_report_negative": True, "overdue_history": "past"}),
    ("花呗逾期了还没还", {"linked_product_issue": True, "overdue_history": "current"}),
    ("征信上有别家的逾期记录", {"credit_report_negative": True}),  # no status said: the record only
    ("不知道为什么我的借呗没有了", {"product_status": "closed"}),  # "don't know why" presupposes
    ("小红书上说征信花了借呗就会关", {}),                   # hearsay states nothing
    ("借呗又能用了!之前关了三个月", {"product_status": "active"}),  # what was before gives way
    ("借呗之前一直正常,上周突然被关了", {"product_status": "closed"}),
    ("我花呗也没了借呗也没了", {"linked_product_issue": True, "product_status": "closed"}),  # 没了 ends a negation
    ("额度没涨反而被关了", {"product_status": "closed"}),
    ("公司倒闭了 现在没收入 借呗也降到一千了", {"income_change": "dropped", "product_status": "reduced"}),  # 没收入 negates nothing after it
    ("芝麻分 710 , 借呗 额度 降 了", {"sesame_score": 710, "product_status": "reduced"}),  # word-spaced Chinese
    ("jiebei limit is now ¥0", {"product_status": "closed"}),
    ("sesame score: 705~710", {}),                                      # a range states no score
    ("我提前还款一次都没有过", {"early_repayment": False}),
    ("芝麻分:701→672,借呗也没了", {"sesame_score": 672, "product_status": "closed"}),  # an arrow says what it became
    ("借呗关了。芝麻分689。26岁", {"product_status": "closed", "sesame_score": 689, "age": 26}),  # 。 is no decimal point
    ("my jiebei limit went 15000 -> 6000", {"product_status": "reduced"}),  # an arrow between amounts
    ("score 655 -> 610", {"sesame_score": 610}),
    ("借呗 降额 芝麻 六八零", {"product_status": "reduced", "sesame_score": 680}),  # digits read out one by one
    ("借呗关了，额，不是关了，是降到了一千", {"product_status": "reduced"}),        # 不是…,是 corrects
    ("房贷车贷信用卡啥都没有", {"other_debt": "none"}),                 # a list denied at once
    ("借呗会不会因为这个降额", {}),                                   # asks what might happen
    ("借呗被关了,会不会是因为我最近老是换手机", {"product_status": "closed", "info_changed": True}),  # asks why, states both
    ("反正借呗现在用不了", {"product_status": "closed"}),
    ("下个月可能真还不上了", {}),                                           # a worry, not a fact
    ("多久能恢复借呗", {"product_status": "closed"}),                        # asked because it is closed
    ("借呗关闭后一般多久能恢复", {}),                                        # …unless asked in general
    ("额度降了,多久能恢复", {"product_status": "reduced"}),                  # …or the cut is said
    ("me and my bf both got jiebei shut down", {"product_status": "closed"}),
    ("sesame went from 720 to 680, now it's 680", {"sesame_score": 680}),   # the score, not the limit
    ("我老婆芝麻分800多,我才620", {"sesame_score": 620}),  # their score unread, the user's stands
    ("芝麻分63 借呗有没有希望", {"sesame_score": 63}),        # a space after a number ends the clause
    ("我 每 天 都 用 支 付 宝", {"alipay_activity": "high"}),   # typed one character at a time
    ("额度从二十万直接变成三万", {"product_status": "reduced"}),
    ("Jiebei limit went from 50,000 to 10,000", {"product_status": "reduced"}),
    ("Score 700ish, can't see Jiebei anymore.", {"product_status": "closed"}),  # can't is no question
    ("Thirty-two, married, no kids, jiebei got reduced to 5k", {"age": 32, "product_status": "reduced"}),
    ("late on jiebei 3 months ago, paid the next day", {"overdue_history": "past"}),  # not early
    ("age 41, married, 2 kids, steady income, jiebei suddenly closed",         # 2 kids: still the user
     {"age": 41, "income_change": "stable", "product_status": "closed"}),
    ("score? 805. age? 33. loans? none.", {"sesame_score": 805, "age": 33, "other_debt": "none"}),  # asked and answered
    ("网贷有吗?也没有.借呗没了", {"other_debt": "none", "product_status": "closed"}),
    ("jiebei cut me off", {"product_status": "closed"}),                    # off: not a cut
    ("jiebei still works but the limit hasnt gone up", {"product_status": "active"}),
    ("i'm 45, my company closed, no income now", {"age": 45, "income_change": "dropped"}),  # not the line
    ("Why does Jiebei close people's accounts?", {}),                      # about Jiebei in general
    ("sesame 7 hundred and 20, never late", {"sesame_score": 720, "overdue_history": "never"}),
    ("my 芝麻分 is 7 hundred something", {}),                               # approximate: not a score
    ("我朋友逾期了借呗被关,我没逾期过也被关了", {"product_status": "closed", "overdue_history": "never"}),
    ("jb被关了 zmf 691", {"product_status": "closed", "sesame_score": 691}),   # pinyin initials
    ("芝麻分六七百之间,没逾期过一次", {"overdue_history": "never"}),           # a range is no score
    ("Jiebei was closed then reopened last week", {"product_status": "active"}),
    ("i had like 3 loan apps but paid them off, now no debts at all", {"other_debt": "none"}),  # had: before
    ("借呗被关.花呗,网商贷,备用金都正常", {"product_status": "closed", "linked_product_issue": False}),
    ("借呗降额+花呗关闭", {"product_status": "reduced", "linked_product_issue": True}),  # + ends a clause
    ("侬借呗被关脱了?阿拉额度还在的", {"product_status": "active"}),          # Shanghainese you / I
    ("my jiebei is back to normal today after being closed 3 months", {"product_status": "active"}),
    ("limit went from 20000 to 15000 wtf", {"product_status": "reduced"}),   # "w" of wtf is no 万
    ("我的芝麻分是600-700之间", {}),                                          # a range
    ("i got jiebei back!! after 6 months", {"product_status": "active"}),     # got it back: it works
    ("额度从5万一下子降到8千了", {"product_status": "reduced"}),               # 5万一下子 holds no 万一 (in case)
    ("万一逾期了怎么办", {}),
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


def test_prefilter_never_skips_a_pattern_that_would_match(bot):
    """The prefilter (strings each pattern needs) only saves time: for every labelled text, every
    pattern it skips finds nothing when run anyway."""
    import re

    from assistant.extract import necessary_strings

    cases = yaml.safe_load((DATA / "facts.yaml").read_text(encoding="utf-8"))
    texts = [normalise(c["text"], bot.kb.derived["normalise"], bot.kb.settings["input_limit"]).text
             for c in cases[::20]]
    patterns = [rx for f in bot.extractor.facts.values()
                for rx in [*(v[0] for v in f["values"]), *(p[0] for p in f["presupposed"]), *f["numbers"]]]
    assert necessary_strings("(?:借呗|额度)被关了") == (frozenset({"被关了"}), frozenset({"借呗", "额度"}))
    compiled = [(lazy, re.compile(lazy.source, re.ASCII)) for lazy in patterns]
    for text in texts:
        chars = set(text)
        for lazy, rx in compiled:
            if not list(lazy.finditer(text, chars)):
                assert not rx.search(text), (lazy.source, text)
