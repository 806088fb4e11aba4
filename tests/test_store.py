"""Saved conversations: format, privacy, atomic writes, resuming (no Textual here)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from assistant import store
from assistant.conversation import Conversation


@pytest.fixture
def chat(bot):
    conv = bot.conversation()
    conv.send("借呗突然被关了,我从来没逾期过,手机号13812345678")
    conv.send("我很少用支付宝")
    return conv


def turns_of(conv) -> list[dict]:
    return [{"said": a.question, "answer": a.answer} for a in conv.history]


def test_state_round_trip(bot, chat):
    again = Conversation.from_state(bot, json.loads(json.dumps(chat.state())))
    assert again.facts == chat.facts
    assert [a.model_dump(mode="json") for a in again.history] == \
           [a.model_dump(mode="json") for a in chat.history]
    assert again.lang == chat.lang
    # and it goes on: the restored conversation answers again and remembers
    advice = again.reanswer()
    assert advice is not None and advice.facts["alipay_activity"] == "low"
    follow = again.send("我在好几个平台都有借款")
    assert follow.facts["overdue_history"] == "never" and follow.facts["other_debt"] == "heavy"


def test_from_state_drops_what_no_longer_fits(bot, chat):
    state = chat.state()
    state["facts"]["no_such_fact"] = 1
    state["facts"]["other_debt"] = "plenty"
    state["history"].append({"version": 1, "nonsense": True})
    state["lang"] = "fr"
    again = Conversation.from_state(bot, state)
    assert "no_such_fact" not in again.facts and "other_debt" not in again.facts
    assert again.facts["alipay_activity"] == "low"
    assert len(again.history) == len(chat.history)
    assert again.lang == "auto"


def test_save_is_private_versioned_and_redacted(tmp_path, chat):
    directory = tmp_path / "conv"
    st = store.Store(directory)
    turns = [{"said": "借呗被关了,手机号13812345678", "answer": "好的"}, {"said": "/facts", "answer": None}]
    path = st.save(chat, turns)
    assert path.parent == directory and path.suffix == ".json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    text = path.read_text(encoding="utf-8")
    assert "13812345678" not in text
    data = json.loads(text)
    assert data["format"] == store.FORMAT and data["version"] == store.VERSION
    assert data["turns"][1] == {"said": "/facts", "answer": None}
    assert "[手机号已隐去]" in data["turns"][0]["said"]
    assert all("13812345678" not in q for q in data["conversation"]["questions"])
    # no temporary file is left behind
    assert [p.name for p in directory.iterdir()] == [path.name]


def test_saving_again_rewrites_the_same_file(tmp_path, chat):
    st = store.Store(tmp_path)
    first = st.save(chat, turns_of(chat)[:1])
    created = json.loads(first.read_text(encoding="utf-8"))["created"]
    second = st.save(chat, turns_of(chat))
    assert first == second
    data = json.loads(second.read_text(encoding="utf-8"))
    assert len(data["turns"]) == 2 and data["created"] == created
    st.new()
    third = st.save(chat, [])
    assert third != first and len(list(tmp_path.glob("*.json"))) == 2


def test_latest_and_resume(tmp_path, bot, chat):
    assert store.latest(tmp_path) is None
    assert store.latest(tmp_path / "missing") is None
    older = store.Store(tmp_path).save(bot.conversation(), [])
    newer = store.Store(tmp_path).save(chat, turns_of(chat))
    os.utime(older, (1, 1))
    assert store.latest(tmp_path) == newer
    st, data = store.Store.resume(newer)
    assert st.path == newer
    assert data["turns"] == [{"said": t["said"].replace("13812345678", "[手机号已隐去]"), "answer": t["answer"]}
                             for t in turns_of(chat)]
    again = Conversation.from_state(bot, data["conversation"])
    assert again.facts == chat.facts


def test_load_refuses_what_it_cannot_read(tmp_path):
    bad = tmp_path / "a.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(store.StoreError, match="damaged"):
        store.load(bad)
    bad.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(store.StoreError, match="not a saved conversation"):
        store.load(bad)
    bad.write_text(json.dumps({"format": store.FORMAT, "version": store.VERSION + 1,
                               "conversation": {}, "turns": []}), encoding="utf-8")
    with pytest.raises(store.StoreError, match="newer version"):
        store.load(bad)
    with pytest.raises(store.StoreError, match="Could not read"):
        store.load(tmp_path / "missing.json")


def test_an_unwritable_directory_is_one_sentence(tmp_path, chat):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(store.StoreError) as info:
        store.Store(blocker / "conv").save(chat, [])
    assert "\n" not in str(info.value) and str(info.value).endswith(".")


def test_default_directory_is_in_the_data_dir():
    from assistant import paths

    assert store.conversations_dir() == paths.data_dir() / "conversations"
