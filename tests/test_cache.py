"""The compiled knowledge-base cache: used when nothing changed, never when anything did.

The key is the bytes of every knowledge-base file and of the package's code, so an edit is seen
even when it keeps the file's size and modification time, and without clearing the cache.
"""

from __future__ import annotations

import os
import pickle
import re

import pytest

from assistant import Assistant, cache, knowledge

ORIGINAL = "平台不会公开单个用户的评估细节"
EDITED = "平台不会公布单个用户的评估细节"        # same length in characters and in UTF-8 bytes


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("CREDIT_ASSISTANT_CACHE_DIR", str(directory))
    monkeypatch.delenv("CREDIT_ASSISTANT_NO_CACHE", raising=False)
    return directory


def _edit_keeping_size_and_time(path, old: str, new: str) -> None:
    stat = path.stat()
    data = path.read_bytes()
    assert data.count(old.encode()) == 1
    edited = data.replace(old.encode(), new.encode())
    assert len(edited) == len(data)
    path.write_bytes(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_unchanged_knowledge_base_comes_from_the_cache(kb_copy, private_cache, monkeypatch):
    Assistant.load(kb_copy)
    assert list(private_cache.glob("kb-*.pickle"))

    def no_build(root):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(knowledge, "build", no_build)
    assert Assistant.load(kb_copy).advise("借呗为什么被关了")["match"]["topic"] == "why_closed"


def test_editing_a_file_changes_the_answer_without_clearing_the_cache(kb_copy, private_cache):
    before = Assistant.load(kb_copy).advise("借呗为什么被关了")["answer"]
    assert ORIGINAL in before
    entries = set(private_cache.glob("kb-*.pickle"))
    _edit_keeping_size_and_time(kb_copy / "topics.yaml", ORIGINAL, EDITED)
    after = Assistant.load(kb_copy).advise("借呗为什么被关了")["answer"]
    assert EDITED in after and ORIGINAL not in after
    assert entries < set(private_cache.glob("kb-*.pickle"))      # a new entry beside the old one
    # and back: the first entry is valid again and is used
    _edit_keeping_size_and_time(kb_copy / "topics.yaml", EDITED, ORIGINAL)
    assert ORIGINAL in Assistant.load(kb_copy).advise("借呗为什么被关了")["answer"]


def test_editing_a_setting_changes_the_result(kb_copy, private_cache):
    bot = Assistant.load(kb_copy)
    assert len(bot.advise("借呗为什么被关了")["follow_up"]) == bot.kb.settings["follow_ups"] == 3
    _edit_keeping_size_and_time(kb_copy / "settings.yaml", "follow_ups: 3", "follow_ups: 1")
    assert len(Assistant.load(kb_copy).advise("借呗为什么被关了")["follow_up"]) == 1


def test_edit_seen_by_the_command_line(kb_copy, private_cache, cli):
    env = {"CREDIT_ASSISTANT_CACHE_DIR": str(private_cache)}
    first = cli("ask", "--kb", str(kb_copy), "借呗为什么被关了", env=env)
    assert first.returncode == 0 and ORIGINAL in first.stdout
    _edit_keeping_size_and_time(kb_copy / "topics.yaml", ORIGINAL, EDITED)
    second = cli("ask", "--kb", str(kb_copy), "借呗为什么被关了", env=env)
    assert second.returncode == 0 and EDITED in second.stdout and ORIGINAL not in second.stdout


def test_a_new_file_in_the_knowledge_base_is_seen(kb_copy, private_cache):
    """An optional file appearing changes the key too (it is part of the fingerprint)."""
    files = [kb_copy / n for n in sorted(knowledge.FILES)]
    optional = kb_copy / "impacts.yaml"
    key = cache.fingerprint(files)
    text = optional.read_text(encoding="utf-8")
    optional.unlink()
    assert cache.fingerprint(files) != key
    optional.write_text(text, encoding="utf-8")
    assert cache.fingerprint(files) == key


def test_a_change_of_code_invalidates_the_cache(kb_copy, private_cache, monkeypatch):
    files = [kb_copy / n for n in sorted(knowledge.FILES)]
    key = cache.fingerprint(files)
    monkeypatch.setattr(cache, "_code_digest", "another version of the code")
    assert cache.fingerprint(files) != key


def test_a_damaged_cache_entry_is_rebuilt(kb_copy, private_cache):
    Assistant.load(kb_copy)
    for entry in private_cache.glob("kb-*.pickle"):
        entry.write_bytes(b"\x80\x05 not a pickle")
    assert Assistant.load(kb_copy).advise("借呗为什么被关了")["match"]["topic"] == "why_closed"
    for entry in private_cache.glob("kb-*.pickle"):
        pickle.loads(entry.read_bytes())      # rewritten whole


def test_patterns_from_the_cache_read_what_freshly_compiled_ones_read(kb_copy, private_cache, monkeypatch):
    """Cached patterns carry their compiled program and are not compiled again when loaded."""
    questions = ["借呗被关了,芝麻分650,从来没逾期", "my jiebei limit was cut from 50k to 5k, I have 3 other loans",
                 "花呗也用不了了 换过手机号 网贷很多"]
    fresh = Assistant.load(kb_copy)
    expected = [fresh.advise(q)["facts"] for q in questions]

    def no_compiling(*args, **kwargs):
        raise AssertionError("a cached pattern was compiled again")

    cached = Assistant.load(kb_copy)          # from the entry the first load wrote
    monkeypatch.setattr(re, "compile", no_compiling)
    assert [cached.advise(q)["facts"] for q in questions] == expected


def test_a_program_from_another_python_is_not_used():
    from assistant import programs

    prog = programs.program(r"芝麻分\s*(\d{3})", 0)
    assert programs.restore(r"芝麻分\s*(\d{3})", 0, prog).search("芝麻分 650").group(1) == "650"
    foreign = (("otherpython", (2, 7), 0, 4), *prog[1:])
    assert programs.restore(r"芝麻分\s*(\d{3})", 0, foreign).search("芝麻分 650").group(1) == "650"
    damaged = (prog[0], prog[1], b"\x00\x01\x02\x03" * 3, *prog[3:])
    assert programs.restore(r"芝麻分\s*(\d{3})", 0, damaged).pattern == r"芝麻分\s*(\d{3})"
