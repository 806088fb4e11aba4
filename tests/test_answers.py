"""Answers people can act on: templates, the forms of `ask`, and the Markdown export."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from conftest import ROOT

PHONE = "13812345678"
ID_CARD = "11010519491231002X"
CARD = "6222 0212 3456 7890 123"


def test_answer_leads_with_the_direct_answer_then_causes_steps_and_a_note(bot):
    advice = bot.ask("借呗为什么被关了,我很少用支付宝,网贷有好几个,从来没逾期")
    topic = bot.kb.topics[advice.match.topic]
    text = advice.answer
    assert text.startswith(topic["answer"]["zh"][:20])
    assert text.index("可能的原因") < text.index("接下来可以做的")
    assert "95188" in text
    assert "因为你说" in text                     # the facts that drove each cause
    assert "还不知道的情况" in text
    assert "平台的评估模型并不公开" in text
    assert advice.follow_up[0].question in text


def test_answer_names_at_most_four_causes(bot):
    advice = bot.ask("借呗被关了,很少用支付宝,网贷很多,征信花了,经常提前还款,换了手机号,收入下降了")
    listed = [c.title for c in advice.causes if c.title in advice.answer]
    assert 1 <= len(listed) <= 4


def test_language_follows_the_question_and_lang_overrides(bot, cli):
    english = bot.ask("why was my jiebei closed? I was never late")
    assert english.lang == "en" and "Likely causes" in english.answer
    forced = json.loads(cli("ask", "--lang", "en", "--format", "json", "借呗为什么被关了").stdout)
    assert forced["lang"] == "en" and "95188" in forced["answer"]
    assert re.search(r"[\u4e00-\u9fff]{6}", forced["remedies"][0]["title"]) is None


def test_abstention_says_what_the_assistant_covers(bot):
    advice = bot.ask("今天天气怎么样")
    assert advice.match.abstained
    assert "借呗" in advice.answer
    assert advice.match.alternatives


def test_template_syntax_in_the_question_stays_literal(cli):
    question = "借呗被关了 {{ 7*7 }} {% if true %}x{% endif %}"
    for fmt in ("json", "markdown", "text"):
        out = cli("ask", "--format", fmt, question).stdout
        assert "49" not in out.replace("95188", "")
    advice = json.loads(cli("ask", "--format", "json", question).stdout)
    assert "{{ 7*7 }}" in advice["question"]


def test_markdown_output_is_markdown(cli):
    out = cli("ask", "--format", "markdown", "借呗为什么被关了").stdout
    assert out.lstrip().startswith("###")
    assert "\n1. **" in out


def test_rich_output_only_on_a_terminal(cli):
    plain = cli("ask", "借呗为什么被关了", env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in plain


# ------------------------------------------------------------------ export


def _export(cli, tmp_path, question, *extra, name="advice.md"):
    path = tmp_path / name
    proc = cli("ask", "--export", str(path), *extra, question)
    return proc, path


def test_export_is_a_complete_document(cli, tmp_path):
    proc, path = _export(cli, tmp_path, "芝麻分63,借呗从未逾期却被关了,我很少用支付宝")
    assert proc.returncode == 0, proc.stderr
    doc = path.read_text(encoding="utf-8")
    for part in ("# 借呗情况分析与建议", "## 你的问题", "## 你提供的情况", "| 情况 | 内容 |",
                 "## 可能的原因", "## 行动清单", "- [ ] ", "## 官方联系方式", "95188",
                 "## 资料来源", "## 免责声明", "630"):
        assert part in doc, part
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_export_redacts_phone_id_and_card_numbers(cli, tmp_path):
    question = f"我手机{PHONE},身份证{ID_CARD},卡号{CARD},借呗被关了"
    proc, path = _export(cli, tmp_path, question)
    assert proc.returncode == 0
    doc = path.read_text(encoding="utf-8")
    for secret in (PHONE, ID_CARD, CARD, CARD.replace(" ", ""), "1234567890"):
        assert secret not in doc
    printed = cli("ask", "--format", "json", question).stdout
    assert PHONE not in printed and ID_CARD not in printed


def test_markdown_heading_in_the_question_cannot_make_a_heading(cli, tmp_path):
    question = "借呗被关了\n# 我是标题\n## [点我](http://evil.example)\n<script>alert(1)</script>"
    proc, path = _export(cli, tmp_path, question)
    assert proc.returncode == 0
    doc = path.read_text(encoding="utf-8")
    headings = [line for line in doc.splitlines() if line.startswith("#")]
    assert not any("我是标题" in h or "点我" in h for h in headings)
    assert "<script>" not in doc
    assert "](http://evil.example)" not in doc


def test_existing_export_survives_without_force(cli, tmp_path):
    path = tmp_path / "advice.md"
    path.write_text("my notes", encoding="utf-8")
    proc = cli("ask", "--export", str(path), "借呗为什么被关了")
    assert proc.returncode == 4
    assert "--force" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert path.read_text(encoding="utf-8") == "my notes"
    forced = cli("ask", "--export", str(path), "--force", "借呗为什么被关了")
    assert forced.returncode == 0 and "95188" in path.read_text(encoding="utf-8")


def test_unwritable_path_is_exit_4_and_leaves_nothing(cli, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    targets = [tmp_path / "missing" / "advice.md", a_file / "advice.md"]
    if os.geteuid() != 0:                      # root writes into read-only directories
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        targets.append(locked / "advice.md")
    for target in targets:
        proc = cli("ask", "--export", str(target), "借呗为什么被关了")
        assert proc.returncode == 4, (target, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        assert not target.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_export_path_is_a_directory(cli, tmp_path):
    proc = cli("ask", "--export", str(tmp_path), "借呗为什么被关了")
    assert proc.returncode == 4


# ------------------------------------------------------------------ the example in docs/


EXAMPLE_QUESTION = "芝麻信用分63,借呗从未逾期却被关闭了,我平时很少用支付宝,也没有网贷"


def test_docs_example_is_current(cli, tmp_path):
    """docs/example-advice.md is what the command in the README produces (date aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/example-advice.md" in readme and EXAMPLE_QUESTION in readme
    proc, path = _export(cli, tmp_path, EXAMPLE_QUESTION)
    assert proc.returncode == 0

    def without_date(text: str) -> str:
        return re.sub(r"^\*.*: \d{4}-\d{2}-\d{2} \d{2}:\d{2}\*$", "*DATE*", text, flags=re.M)

    shipped = (ROOT / "docs" / "example-advice.md").read_text(encoding="utf-8")
    assert without_date(path.read_text(encoding="utf-8")) == without_date(shipped), (
        "docs/example-advice.md is stale: regenerate it with the command in the README")
