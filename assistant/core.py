"""The pipeline, end to end: question → normalise → facts → match → score → remedies → render.

`Assistant.advise()` returns the advice as plain data (what the one-shot path prints, without
importing pydantic); `Assistant.ask()` returns the validated `Advice` model for Python callers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import knowledge, remedies, scoring
from .errors import UsageError
from .extract import Extractor, check_ranges, coerce, contradiction_warning
from .matcher import Matcher
from .normalise import normalise
from .reader import Reader
from .redact import redact
from .render import Renderer, fill

LANG_CHOICES = ("auto", "zh", "en")


@dataclass
class Context:
    """What a conversation knows from earlier turns."""

    known: dict = field(default_factory=dict)   # facts so far; this message's facts override them
    topic: str | None = None                    # the topic of the last answer
    expecting: str | None = None                # the fact the last follow-up question asked about
    read_facts: bool = True                     # False: answer again with `known` as it stands


class Assistant:
    """The assistant over one knowledge base. Build it once; ask as often as you like."""

    def __init__(self, kb: knowledge.KnowledgeBase, templates_dir: str | os.PathLike | None = None):
        self.kb = kb
        self.extractor = Extractor(kb)
        self.reader = Reader(kb)
        self.matcher = Matcher(kb)
        self.renderer = Renderer(kb, templates_dir)

    @classmethod
    def load(cls, kb_dir: str | os.PathLike | None = None,
             templates_dir: str | os.PathLike | None = None) -> "Assistant":
        """The assistant over the shipped knowledge base, or over `kb_dir`."""
        return cls(knowledge.load(kb_dir), templates_dir)

    # ------------------------------------------------------------------ public API

    def ask(self, question: str, facts: dict | None = None, lang: str = "auto",
            what_if: dict | None = None):
        """One answer as an `Advice` model."""
        from .advice import Advice

        return Advice.model_validate(self.advise(question, facts=facts, lang=lang, what_if=what_if))

    def read_facts(self, question: str) -> dict:
        """Only the facts stage, for one message on its own: what the patterns read, then the
        learned reader for the rest (what `ask` puts in `facts` when no other facts are given)."""
        norm = normalise(question, self.kb.derived["normalise"], self.kb.settings["input_limit"])
        stated, warnings = self.extractor.extract(norm.text)
        known = {*stated, *(w["fact"] for w in warnings if w.get("fact"))}
        stated.update((r.fact, r.value) for r in self.reader.read(norm.text, known))
        return stated

    def match(self, question: str) -> dict:
        """Only normalisation and matching: the contract's `match` plus the full `ranking`."""
        norm = normalise(question, self.kb.derived["normalise"], self.kb.settings["input_limit"])
        match = self.matcher.match(norm.text)
        del match["scores"]
        return match

    def conversation(self, lang: str = "auto"):
        from .conversation import Conversation

        return Conversation(self, lang=lang)

    def check_facts(self, facts: dict | None) -> dict:
        """Facts given by a caller, each checked against the knowledge base (UsageError if not)."""
        out = {}
        for key, value in (facts or {}).items():
            try:
                out[key] = coerce(self.kb, key, value)
            except ValueError as exc:
                msg = str(exc)      # not str.capitalize(): it would lower-case the value shown
                raise UsageError(msg[:1].upper() + msg[1:] + ".") from None
        return out

    def check_what_if(self, changes: dict | None) -> dict:
        """What-if changes: known, well-typed, and only on facts a person can act on."""
        checked = self.check_facts(changes)
        for key in checked:
            fact = self.kb.facts[key]
            if not fact["actionable"]:
                raise UsageError(f"A what-if cannot change {key}: {fact['fixed_reason']['en']}")
        return checked

    # ------------------------------------------------------------------ the pipeline

    def advise(self, question: str, facts: dict | None = None, lang: str = "auto",
               what_if: dict | None = None, context: Context | None = None,
               all_causes: bool = False) -> dict:
        """The whole pipeline; the contract's Advice as plain data."""
        if lang not in LANG_CHOICES:
            raise UsageError(f"Language must be one of {', '.join(LANG_CHOICES)}, not {lang!r}.")
        if not isinstance(question, str):
            raise UsageError("The question must be text.")
        kb = self.kb
        given = self.check_facts(facts)
        changes = self.check_what_if(what_if) if what_if else None
        context = context or Context()

        # 1. normalise (after redaction, so no later stage ever sees a phone or card number)
        norm = normalise(question, kb.derived["normalise"], kb.settings["input_limit"])
        lang = norm.lang if lang == "auto" else lang
        shown_question = redact(norm.original, lang)
        L = self.renderer.labels[lang]
        notices: list[dict] = []
        if norm.truncated:
            notices.append({"code": "input_truncated", "fact": None,
                            "message": fill(L["notice_input_truncated"], limit=kb.settings["input_limit"])})

        # 2. facts: what this message says, a short reply to the last follow-up, what was given
        stated, warnings = self.extractor.extract(norm.text) if context.read_facts else ({}, [])
        reply = None
        # a short reply to the last follow-up question, when the message states nothing else
        if context.expecting and not stated:
            reply = self.extractor.reply_value(context.expecting, norm.text)
            if reply is not None:
                stated[context.expecting] = reply
        # what the patterns did not read, the learned reader may: only facts not known any other
        # way, each said to be a reading so the user can correct it
        if context.read_facts and reply is None:
            known = {*stated, *given, *context.known, *(w["fact"] for w in warnings if w.get("fact"))}
            for r in self.reader.read(norm.text, known):
                stated[r.fact] = r.value
                notices.append({"code": "fact_read", "fact": r.fact, "message": fill(
                    L["notice_fact_read"], fact=self.renderer.fact_title(r.fact, lang),
                    value=self.renderer.value_label(r.fact, r.value, lang), quote=r.evidence)})
        merged = dict(context.known)
        for key, value in stated.items():
            old = merged.get(key)
            if key in merged and old != value:
                notices.append({"code": "fact_updated", "fact": key, "message": fill(
                    L["notice_fact_updated"], fact=self.renderer.fact_title(key, lang),
                    before=self.renderer.value_label(key, old, lang),
                    after=self.renderer.value_label(key, value, lang))})
            merged[key] = value
        for key, value in given.items():
            if key in stated and stated[key] != value:
                warnings.append({**contradiction_warning(kb, key, [stated[key], value]),
                                 "code": "fact_conflict"})
            merged[key] = value
        # a contradiction inside this message leaves that fact unknown until the user says which
        for w in warnings:
            if w["code"] == "contradictory_facts":
                merged.pop(w["fact"], None)
        scorable, range_warnings = check_ranges(kb, merged)
        warnings += range_warnings

        # 3. match (a short reply or a bare statement of facts stays in the conversation's topic)
        match = self.matcher.match(norm.text)
        match.pop("ranking")
        scores = match.pop("scores")
        # "我芝麻分700" after a closure question adds a fact to that analysis; it is not a new
        # question about what scores mean
        adds_facts = bool(stated) and not self.extractor.asks(norm.text) and context.topic is not None \
            and kb.topics[context.topic]["explains_causes"]
        if context.topic and (reply is not None or adds_facts or (match["abstained"] and stated)):
            match.update(topic=context.topic, abstained=False, from_context=True,
                         confidence=scores[context.topic])
            match["alternatives"] = [a for a in match["alternatives"] if a["topic"] != context.topic][:2]
        else:
            match["from_context"] = False
            self._prefer_stated_situation(match, scores, stated, norm.text)
        topic = kb.topics.get(match["topic"]) if match["topic"] else None

        # 4. score causes, 5. pick remedies and follow-ups
        causes: list[dict] = []
        follow_keys: list[str] = []
        n_follow = kb.settings["follow_ups"]
        flagged = {w["fact"] for w in warnings if w.get("fact")}
        if topic is not None and topic["explains_causes"]:
            causes = scoring.rank(kb, scorable, lang)
            follow_keys = scoring.follow_ups(kb, scorable, skip=flagged, limit=n_follow,
                                             top=kb.settings["principal_reasons"])
        elif topic is not None:
            follow_keys = [k for k in topic["asks"] if k not in merged][:n_follow]
        principal = [c for c in causes if c["points"] > 0][: kb.settings["principal_reasons"]]
        remedy_ids = remedies.pick(kb, match["topic"], principal, scorable)
        what_if_result = None
        if changes:
            after_facts, _ = check_ranges(kb, {**merged, **changes})
            what_if_result = {"changes": changes, "causes_before": causes or scoring.rank(kb, scorable, lang),
                              "causes_after": scoring.rank(kb, after_facts, lang)}

        advice = {
            "version": 1,
            "lang": lang,
            "question": shown_question,
            "match": match,
            "facts": merged,
            "warnings": [self._warning(w, lang) for w in warnings],
            "causes": causes,
            "remedies": [{"id": r, "title": kb.remedies[r]["title"][lang],
                          "steps": list(kb.remedies[r]["steps"][lang])} for r in remedy_ids],
            "impacts": [{"id": i, "title": kb.impacts[i]["title"][lang]}
                        for i in (topic["impacts"] if topic else [])],
            "follow_up": [self._follow_up(k, lang) for k in follow_keys],
            "notices": notices,
            "what_if": what_if_result,
            "answer": "",
        }
        advice["answer"] = self.renderer.render("text", advice, all_causes=all_causes)
        return advice

    def _prefer_stated_situation(self, match: dict, scores: dict, stated: dict, text: str) -> None:
        """A bare statement ("额度从5万降到5000,网贷六七家") wants the analysis of the situation it
        states, when the matcher ranks that topic among its top three."""
        if self.extractor.asks(text):
            return
        wanted = [topic for key, topics in self.kb.settings.get("statement_topics", {}).items()
                  for value, topic in topics.items() if stated.get(key) == value]
        ranked = [match["topic"], *(a["topic"] for a in match["alternatives"])][:3]
        for topic in wanted:
            if topic in ranked and topic != match["topic"]:
                previous = ([{"topic": match["topic"], "confidence": match["confidence"]}]
                            if match["topic"] else [])      # an abstention has no topic to offer
                match.update(topic=topic, abstained=False, confidence=scores[topic])
                match["alternatives"] = [*previous, *(a for a in match["alternatives"] if a["topic"] != topic)][:2]
                return

    def _warning(self, w: dict, lang: str) -> dict:
        out = {"code": w["code"], "fact": w.get("fact"), "message": self.renderer.warning_message(w, lang),
               "suggestion": w.get("suggestion")}
        if "value" in w:
            out["value"] = w["value"]
        return out

    def _follow_up(self, key: str, lang: str) -> dict:
        fact = self.kb.facts[key]
        return {"fact": key, "question": fact["question"][lang],
                "options": [{"value": v["id"], "label": v["label"][lang]} for v in fact["values"]]}
