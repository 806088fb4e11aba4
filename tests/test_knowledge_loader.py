"""The loader checks every cross-reference and reports every problem as `FILE: PATH: message`."""

from __future__ import annotations

import pytest
import yaml

from assistant import knowledge


def _edit(kb, name, change):
    path = kb / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _problems(kb):
    _, problems = knowledge.validate(kb)
    return problems


def _entry(entries, id_, key="id"):
    return next(e for e in entries if e[key] == id_)


def test_shipped_knowledge_base_is_valid(kb_copy):
    assert _problems(kb_copy) == []


def test_cause_naming_a_missing_remedy(kb_copy):
    _edit(kb_copy, "causes.yaml", lambda d: _entry(d, "low_activity")["remedies"].append("teleport_money"))
    problems = _problems(kb_copy)
    assert any(p.startswith("causes.yaml: low_activity.remedies[") and "teleport_money" in p for p in problems), problems


def test_cause_naming_a_missing_source(kb_copy):
    _edit(kb_copy, "causes.yaml", lambda d: _entry(d, "multi_lending")["sources"].append("rumour_mill"))
    problems = _problems(kb_copy)
    assert any(p.startswith("causes.yaml: multi_lending.sources[") and "rumour_mill" in p for p in problems), problems


def test_duplicate_ids(kb_copy):
    def dup(d):
        d.append(dict(_entry(d, "contact_support")))
    _edit(kb_copy, "remedies.yaml", dup)
    problems = _problems(kb_copy)
    assert "remedies.yaml: contact_support: duplicate id 'contact_support'" in problems


def test_rule_on_an_unknown_fact(kb_copy):
    def bad(d):
        _entry(d, "low_activity")["rules"][0]["fact"] = "star_sign"
    _edit(kb_copy, "causes.yaml", bad)
    problems = _problems(kb_copy)
    assert any(p.startswith("causes.yaml: low_activity.rules[0].fact:") and "star_sign" in p for p in problems), problems


def test_rule_on_a_value_the_fact_does_not_allow(kb_copy):
    def bad(d):
        rule = _entry(d, "low_activity")["rules"][0]
        rule.pop("values", None)
        rule["value"] = "sometimes"
        rule["fact"] = "alipay_activity"
    _edit(kb_copy, "causes.yaml", bad)
    problems = _problems(kb_copy)
    assert any(p.startswith("causes.yaml: low_activity.rules[0].value:") and "'sometimes'" in p
               and "low, normal, high" in p for p in problems), problems


def test_topic_naming_a_missing_remedy_impact_and_fact(kb_copy):
    def bad(d):
        t = _entry(d, "why_closed")
        t["remedies"] = ["nope_remedy"]
        t["impacts"] = ["nope_impact"]
        t["asks"] = ["nope_fact"]
    _edit(kb_copy, "topics.yaml", bad)
    problems = _problems(kb_copy)
    for expected in ("topics.yaml: why_closed.remedies[0]:", "topics.yaml: why_closed.impacts[0]:",
                     "topics.yaml: why_closed.asks[0]:"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_every_problem_is_reported_not_just_the_first(kb_copy):
    _edit(kb_copy, "causes.yaml", lambda d: _entry(d, "low_activity")["remedies"].append("x_one"))
    _edit(kb_copy, "remedies.yaml", lambda d: _entry(d, "build_activity")["sources"].append("x_two"))
    _edit(kb_copy, "impacts.yaml", lambda d: _entry(d, "credit_image")["sources"].append("x_three"))
    problems = _problems(kb_copy)
    for name in ("x_one", "x_two", "x_three"):
        assert any(name in p for p in problems), (name, problems)


def test_schema_errors_name_file_entry_and_field(kb_copy):
    def bad(d):
        _entry(d, "contact_support")["titel"] = {"zh": "拼错", "en": "typo"}
        del _entry(d, "build_activity")["title"]
    _edit(kb_copy, "remedies.yaml", bad)
    problems = _problems(kb_copy)
    assert "remedies.yaml: contact_support.titel: unknown field (misspelt?)" in problems
    assert any(p.startswith("remedies.yaml: build_activity.title:") for p in problems), problems


def test_invalid_pattern_is_reported_with_its_path(kb_copy):
    def bad(d):
        _entry(d, "other_debt", "key")["values"][0]["patterns"].append("(unclosed")
    _edit(kb_copy, "facts.yaml", bad)
    problems = _problems(kb_copy)
    assert any(p.startswith("facts.yaml: other_debt.values[0].patterns[") and "regular expression" in p
               for p in problems), problems


def test_claimed_status_naming_a_value_the_fact_lacks(kb_copy):
    def bad(d):
        _entry(d, "overdue_history", "key")["claimed_status"]["values"]["someday"] = "(unclosed"
    _edit(kb_copy, "facts.yaml", bad)
    problems = _problems(kb_copy)
    assert "facts.yaml: overdue_history.claimed_status.values: 'someday' is not a value of overdue_history" in problems
    assert any(p.startswith("facts.yaml: overdue_history.claimed_status.values.someday[0]")
               and "regular expression" in p for p in problems), problems


def _set_earlier(d):
    _entry(d, "product_status", "key")["earlier"] = "之前|(unclosed"


def _set_presupposed(d):
    _entry(d, "product_status", "key")["values"][0]["presupposed"] = ["(unclosed"]


def _set_theirs_words(d):
    _entry(d, "sesame_score", "key")["theirs_words"] = "芝麻|(unclosed"


@pytest.mark.parametrize("bad, where", [
    (_set_earlier, "product_status.earlier[0]"),
    (_set_presupposed, "product_status.values[0].presupposed[0]"),
    (_set_theirs_words, "sesame_score.theirs_words[0]"),
])
def test_invalid_extraction_words_are_reported_with_their_path(kb_copy, bad, where):
    _edit(kb_copy, "facts.yaml", bad)
    problems = _problems(kb_copy)
    assert any(p.startswith(f"facts.yaml: {where}") and "regular expression" in p for p in problems), problems


def test_example_question_under_two_topics_is_an_error(kb_copy):
    def bad(d):
        question = _entry(d, "why_closed")["examples"]["zh"][0]
        _entry(d, "help")["examples"]["zh"].append(question + "!!")   # punctuation does not hide it
    _edit(kb_copy, "topics.yaml", bad)
    problems = _problems(kb_copy)
    assert any(p.startswith("topics.yaml: help.examples.zh[") and "why_closed" in p for p in problems), problems


def test_yaml_syntax_error_names_the_file_and_line(kb_copy):
    path = kb_copy / "remedies.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n- id: [unclosed\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert any(p.startswith("remedies.yaml: line ") and "YAML syntax error" in p for p in problems), problems


def test_missing_required_file(kb_copy):
    (kb_copy / "causes.yaml").unlink()
    assert "causes.yaml: (file): missing; a knowledge base needs it" in _problems(kb_copy)


def test_shipped_yaml_loads_without_libyaml():
    """The loader prefers the C parser when PyYAML has it; a machine without libyaml falls back
    to the pure-Python one, which is stricter (an unquoted `?` in a flow list is an error)."""
    import yaml
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in [*sorted((root / "knowledge").glob("*.yaml")), *sorted((root / "templates").glob("*.yaml"))]:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
