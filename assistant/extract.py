"""Stage 2: the facts the user states, read from normalised text, plus checks on any facts given.

Patterns, negators and vocabularies come from the knowledge base (`facts.yaml`, `lexicon.yaml`);
this module is the mechanism: find every mention, flip negated ones (没有网贷 → `none`), settle
several mentions of one fact (precedence or a contradiction to ask about), read numbers as people
write them, and flag values outside a fact's valid range (63 → "did you mean 630?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .knowledge import expand_macros
from .numbers import NUMBER_PATTERN, parse_number

# Where a negation's reach ends: punctuation between the negator and the phrase.
_CLAUSE_END = re.compile(r"[,.;:!?，。；：！？\n]")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    fact: str
    value: object


def compile_extractors(kb) -> dict:
    """Pattern strings with macros expanded, per fact (cached with the knowledge base)."""
    macros = {"NUM": NUMBER_PATTERN, **kb.lexicon.get("macros", {})}
    facts = {}
    for key, f in kb.facts.items():
        spec = {"type": f["type"], "values": [], "numbers": [], "amount": None,
                "user_only": f["user_only"]}
        for v in f["values"]:
            for p in v["patterns"]:
                spec["values"].append((expand_macros(p, macros), v["id"], v["negated"]))
        for p in f["patterns"]:
            spec["numbers"].append(expand_macros(p, macros))
        if f.get("amount_change"):
            ac = f["amount_change"]
            spec["amount"] = {"patterns": [expand_macros(p, macros) for p in ac["patterns"]],
                              "to_zero": ac["to_zero"], "decrease": ac["decrease"],
                              "increase": ac["increase"]}
        # Short replies to this fact's follow-up question: the value's replies and its labels.
        spec["replies"] = {}
        for v in f["values"]:
            for phrase in [*v["replies"]["zh"], *v["replies"]["en"], v["label"]["zh"], v["label"]["en"]]:
                spec["replies"].setdefault(_reply_key(phrase), v["id"])
        facts[key] = spec
    lex = kb.lexicon
    negators = sorted({n.casefold() for n in lex.get("negators", [])}, key=len, reverse=True)
    breakers = sorted({b.casefold() for b in lex.get("negation_breakers", [])}, key=len, reverse=True)
    others = sorted({o.casefold() for o in lex.get("others", [])}, key=len, reverse=True)
    return {
        "facts": facts,
        "others": "|".join(map(re.escape, others)),
        "negators": "|".join(map(re.escape, negators)),
        "breakers": "|".join(map(re.escape, breakers)),
        "gap": lex.get("negation_gap", 4),
    }


class Extractor:
    """Compiled patterns of one knowledge base; build once per Assistant."""

    def __init__(self, kb):
        self.kb = kb
        spec = kb.derived["extract"]
        self.gap = spec["gap"]
        self.negator_rx = re.compile(f"(?:{spec['negators']})") if spec["negators"] else None
        self.breaker_rx = re.compile(f"(?:{spec['breakers']})") if spec["breakers"] else None
        self.others_rx = re.compile(f"(?:{spec['others']})") if spec["others"] else None
        self.facts = {}
        for key, f in spec["facts"].items():
            self.facts[key] = {
                "values": [(re.compile(p), v, neg) for p, v, neg in f["values"]],
                "numbers": [re.compile(p) for p in f["numbers"]],
                "amount": f["amount"] and {**f["amount"], "patterns": [re.compile(p) for p in f["amount"]["patterns"]]},
                "replies": f["replies"],
                "user_only": f["user_only"],
            }

    # ------------------------------------------------------------------ reading text

    def extract(self, text: str) -> tuple[dict, list[dict]]:
        """Facts stated in normalised `text`, and warnings about contradictions within it."""
        mentions: list[Mention] = []
        for key, f in self.facts.items():
            found_from = len(mentions)
            for rx, value, negated in f["values"]:
                for m in rx.finditer(text):
                    if self._negated(text, m.start()):
                        if negated is None:
                            continue
                        value_here = negated
                    else:
                        value_here = value
                    mentions.append(Mention(m.start(), m.end(), key, value_here))
            for rx in f["numbers"]:
                for m in rx.finditer(text):
                    n = parse_number(m.group("n"))
                    if n is not None:
                        if m.groupdict().get("neg"):
                            n = -n
                        mentions.append(Mention(m.start(), m.end(), key, int(n) if n == int(n) else n))
            if f["amount"]:
                mentions.extend(self._amount_changes(text, key, f["amount"]))
            if f["user_only"] and self.others_rx is not None:
                mentions[found_from:] = [m for m in mentions[found_from:] if not self._about_others(text, m.start)]
        return self._settle(mentions)

    def _about_others(self, text: str, start: int) -> bool:
        """Is the clause before `start` about someone other than the user?"""
        clause = _CLAUSE_END.split(text[max(0, start - 30):start])[-1]
        return bool(self.others_rx.search(clause))

    def reply_value(self, key: str, text: str):
        """The value a short reply ("没有", "no", "很少", "680") gives the fact just asked about."""
        f = self.facts.get(key)
        if f is None:
            return None
        said = _reply_key(text)
        if not said or len(said) > 16:
            return None
        if f["numbers"] or self.kb.facts[key]["type"] == "int":
            m = re.fullmatch(f"({NUMBER_PATTERN})(?:分|岁|points?|yearsold|years)?", said)
            n = parse_number(m.group(1)) if m else None
            return int(n) if n is not None and n == int(n) else None
        if said in f["replies"]:
            return f["replies"][said]
        # a reply phrase inside a short answer ("没有呢,一次都没有"): the longest one decides
        found = sorted((p for p in f["replies"] if p and p in said), key=len, reverse=True)
        return f["replies"][found[0]] if found else None

    def _negated(self, text: str, start: int) -> bool:
        """Is the phrase at `start` negated by a negator just before it, in the same clause?"""
        if self.negator_rx is None:
            return False
        window_start = max(0, start - self.gap - 6)
        before = text[window_start:start]
        clause = _CLAUSE_END.split(before)[-1]
        if self.breaker_rx is not None:
            clause = self.breaker_rx.split(clause)[-1]
        for m in self.negator_rx.finditer(clause):
            if len(clause) - m.end() <= self.gap:
                return True
        return False

    def _amount_changes(self, text: str, key: str, spec: dict) -> list[Mention]:
        found = []
        for rx in spec["patterns"]:
            for m in rx.finditer(text):
                before, after = _amount(m.group("from")), _amount(m.group("to"))
                if before is None or after is None:
                    continue
                if after == 0:
                    value = spec["to_zero"]
                elif after < before:
                    value = spec["decrease"]
                elif spec["increase"] is not None and after > before:
                    value = spec["increase"]
                else:
                    continue
                found.append(Mention(m.start(), m.end(), key, value))
        return found

    def _settle(self, mentions: list[Mention]) -> tuple[dict, list[dict]]:
        """One value per fact: overlapping mentions keep the longest; several values go by precedence."""
        by_fact: dict[str, list[Mention]] = {}
        for m in sorted(mentions, key=lambda m: (m.start, -(m.end - m.start))):
            kept = by_fact.setdefault(m.fact, [])
            if kept and m.start < kept[-1].end:          # overlaps the previous mention
                if (m.end - m.start) > (kept[-1].end - kept[-1].start):
                    kept[-1] = m
                continue
            kept.append(m)
        facts: dict = {}
        warnings: list[dict] = []
        for key, ms in by_fact.items():
            values = list(dict.fromkeys(m.value for m in ms))   # distinct, in order of mention
            if len(values) == 1:
                facts[key] = values[0]
                continue
            fact = self.kb.facts[key]
            clash = _contradiction(values, fact["contradictions"])
            if clash:
                warnings.append(contradiction_warning(self.kb, key, clash))
                continue
            ranked = [v for v in fact["precedence"] if v in values]
            facts[key] = ranked[0] if ranked else values[-1]
        return facts, warnings


_REPLY_PUNCT = re.compile(r"[\s,.;:!?，。；：！？~\-\"'()]+")
_REPLY_EDGES = re.compile(r"^(?:嗯|额|呃|唔|well|um|uh)+|[了啊呢吧的哦呀嗯喔哈]+$")


def _reply_key(text: str) -> str:
    """A reply reduced to what decides it: case, spaces, punctuation and final particles dropped."""
    return _REPLY_EDGES.sub("", _REPLY_PUNCT.sub("", text.casefold()))


def _amount(text: str) -> float | None:
    return parse_number(re.sub(r"[元块]$", "", text))


def _contradiction(values: list, pairs: list[list]) -> list | None:
    for a, b in pairs:
        if a in values and b in values:
            return [a, b]
    return None


def contradiction_warning(kb, key: str, values: list) -> dict:
    fact = kb.facts[key]
    labels = {v["id"]: v["label"] for v in fact["values"]}
    return {
        "code": "contradictory_facts",
        "fact": key,
        "values": values,
        "labels": [labels[v] for v in values],
        "suggestion": None,
    }


# ---------------------------------------------------------------------- facts given directly

def coerce(kb, key: str, raw) -> object:
    """A fact value given as `--fact KEY=VALUE` or through the API, checked against the fact.

    Raises ValueError with a sentence naming the allowed values.
    """
    fact = kb.facts.get(key)
    if fact is None:
        raise ValueError(f"unknown fact {key!r}; known facts: {', '.join(kb.facts)}")
    if fact["type"] == "int":
        if isinstance(raw, bool):
            raise ValueError(f"{key} takes a whole number, not {raw!r}")
        if isinstance(raw, (int, float)) and raw == int(raw):
            return int(raw)
        n = parse_number(str(raw))
        if n is None or n != int(n):
            raise ValueError(f"{key} takes a whole number, not {raw!r}")
        return int(n)
    allowed = [v["id"] for v in fact["values"]]
    if fact["type"] == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().casefold()
        if word in ("true", "yes", "1", "y", "是", "有"):
            return True
        if word in ("false", "no", "0", "n", "否", "没有", "无"):
            return False
        raise ValueError(f"{key} takes true or false, not {raw!r}")
    word = str(raw).strip()
    if word in allowed:
        return word
    raise ValueError(f"{key} takes one of {', '.join(allowed)}, not {raw!r}")


def parse_assignment(kb, text: str) -> tuple[str, object]:
    """`KEY=VALUE` → (key, checked value)."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    return key, coerce(kb, key, value)


def check_ranges(kb, facts: dict) -> tuple[dict, list[dict]]:
    """Split facts into those fit to score and warnings for impossible values (kept, never scored)."""
    scorable: dict = {}
    warnings: list[dict] = []
    for key, value in facts.items():
        valid = kb.facts[key].get("valid") if key in kb.facts else None
        if valid and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and not valid["min"] <= value <= valid["max"]:
            warnings.append({
                "code": valid["warning"], "fact": key, "value": value,
                "suggestion": _suggest(value, valid),
            })
            continue
        scorable[key] = value
    return scorable, warnings


def _suggest(value, valid: dict):
    """The likely intended value when one digit too few or too many would explain the mistake."""
    if not valid.get("suggest_scaled"):
        return None
    candidates = [c for c in (value * 10, value / 10) if c == int(c) and valid["min"] <= c <= valid["max"]]
    return int(candidates[0]) if len(candidates) == 1 else None
