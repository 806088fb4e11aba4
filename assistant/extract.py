"""Stage 2: the facts the user states, read from normalised text, plus checks on any facts given.

Patterns, negators and vocabularies come from the knowledge base (`facts.yaml`, `lexicon.yaml`);
this module is the mechanism: find every mention, flip negated ones (没有网贷 → `none`), settle
several mentions of one fact (precedence or a contradiction to ask about), read numbers as people
write them, and flag values outside a fact's valid range (63 → "did you mean 630?").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import programs
from .knowledge import expand_macros
from .numbers import NUMBER_EN_PATTERN, NUMBER_PATTERN, parse_number

# Where a clause ends: a negation, a question or a person named earlier reaches no further.
_CLAUSE_REACH = 80   # characters looked at on each side of a mention
# A space between two Chinese characters ends a clause too: people type one instead of a comma
# ("借呗没了 支付宝天天用", "芝麻分63 借呗…"); so does a dash between spaces ("I have a mortgage - does that …").
_CLAUSE_END = re.compile(r"[,.;:!?，。；：！？\n]|(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff0-9])|(?<=[0-9]) +(?=[\u4e00-\u9fff])|\s[-–—]+\s")
# What may stand before the object of a verb ("closed my huabei", "关了我的花呗").
_OBJECT_LEAD = re.compile(r"\s*(?:(?:my|the|our|了)\s*)?(?:我的|我)?\s*")
# How many English words may stand between a negator and what it negates ("never defaulted or
# been late"), helper words not counted.
_ENGLISH_NEGATION_WORDS = 1
_SENTENCE_END = re.compile(r"[.;!?。；！？\n]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# How far after a correction ("不对", "wait no") a bare number restates the fact just before it.
_CORRECTION_REACH = 24


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    fact: str
    value: object
    shadows: tuple = ()     # facts whose overlapping mentions this one overrides
    named: bool = False     # names its own subject ("…and jiebei too"): no other claim overrides it
    negated: bool = False   # its value is the negation of what its words say ("没有网贷")


def _alternation(words) -> str:
    """Words as one alternation, longest first; English words only as whole words ("no" is not
    in "now")."""
    def piece(word: str) -> str:
        escaped = re.escape(word)
        if word[:1].isascii() and word[:1].isalpha() and not word.startswith("n'"):
            escaped = r"\b" + escaped
        if word[-1:].isascii() and word[-1:].isalpha():
            escaped += r"\b"
        return escaped
    return "|".join(piece(w) for w in sorted({w.casefold() for w in words}, key=len, reverse=True))


def _lazy(pattern: str) -> LazyPattern:
    return LazyPattern(pattern, necessary_strings(pattern))


def compile_extractors(kb) -> dict:
    """Pattern strings with macros expanded, per fact (cached with the knowledge base)."""
    macros = {"NUM": NUMBER_PATTERN, "NUM_EN": NUMBER_EN_PATTERN, **kb.lexicon.get("macros", {})}
    facts = {}
    for key, f in kb.facts.items():
        spec = {"values": [], "presupposed": [], "numbers": [], "amount": None, "user_only": f["user_only"],
                "stated_in_questions": f["stated_in_questions"],
                "int": f["type"] == "int", "shadows": tuple(f["shadows"])}
        fields = "|".join(f"(?:{p})" for p in f.get("form", []))
        for v in f["values"]:
            patterns = list(v["patterns"])
            if fields and v.get("form"):
                # "逾期: 无", "Alipay usage: low": a field, an optional 状态/status, a colon, a value
                words = "|".join(f"(?:{w})" for w in v["form"])
                # …or asked and answered in one breath ("loans? none", "网贷有吗?也没有")
                patterns.append(rf"(?<![a-z])(?:{fields})\s*(?:状态|情况|status|history|record|usage)?\s*"
                                rf"(?:[:=]|(?:有吗|呢|有没有)?\?)\s*(?:也|都)?(?:已经?|被|已被)?(?:{words})(?![a-z])")
                # terse Chinese without a colon ("逾期无 负债无"): a Chinese value ending its clause
                zh = "|".join(f"(?:{w})" for w in v["form"] if re.match(r"[\u4e00-\u9fff]", w))
                if zh:
                    patterns.append(rf"(?<![\u4e00-\u9fff])(?:{fields})\s*(?:{zh})(?=[\s,.;!?]|$)")
            for p in patterns:
                spec["values"].append((_lazy(expand_macros(p, macros)), v["id"], v["negated"],
                                       tuple(v["shadows"])))
            for p in v["presupposed"]:
                spec["presupposed"].append((_lazy(expand_macros(p, macros)), v["id"], tuple(v["shadows"])))
        for p in f["patterns"]:
            spec["numbers"].append(_lazy(expand_macros(p, macros)))
        if f.get("amount_change"):
            ac = f["amount_change"]
            spec["amount"] = {"patterns": [_lazy(expand_macros(p, macros)) for p in ac["patterns"]],
                              "to_zero": ac["to_zero"], "decrease": ac["decrease"],
                              "increase": ac["increase"]}
        own = f.get("own_subject")
        spec["own"] = re.compile(expand_macros(own, macros), re.ASCII) if own else None
        spec["redirect"] = [(re.compile(expand_macros(r["subject"], macros), re.ASCII), r["fact"], r["values"])
                            for r in f.get("redirect", [])]
        spec["earlier"] = re.compile(expand_macros(f["earlier"], macros)) if f.get("earlier") else None
        spec["theirs_words"] = re.compile(expand_macros(f["theirs_words"], macros)) if f.get("theirs_words") else None
        cs = f.get("claimed_status")
        if cs:
            order = [v for v in f["precedence"] if str(v) in cs["values"]] or list(cs["values"])
            spec["claimed"] = (re.compile(expand_macros(cs["mention"], macros)),
                               [(v, re.compile(expand_macros(cs["values"][str(v)], macros))) for v in order])
        else:
            spec["claimed"] = None
        # Short replies to this fact's follow-up question: the value's replies and its labels.
        spec["replies"] = {}
        for v in f["values"]:
            for phrase in [*v["replies"]["zh"], *v["replies"]["en"], v["label"]["zh"], v["label"]["en"]]:
                spec["replies"].setdefault(_reply_key(phrase), v["id"])
        facts[key] = spec
    lex = kb.lexicon
    hypo = lex.get("hypothetical", {})
    return {
        "facts": facts,
        "negators": _compiled(_alternation(lex.get("negators", []))),
        "post_negators": _union(lex.get("post_negators", [])),
        "not_negations": _compiled(_alternation(lex.get("negation_exceptions", []))),
        "self": _union(lex.get("self_words", [])),
        "breakers": _compiled(_alternation(lex.get("negation_breakers", []))),
        "subjects": _compiled(_alternation(lex.get("negation_subjects", []))),
        "others": _union(lex.get("others", [])),
        "joint": _union(lex.get("joint", [])),
        "contrast": [re.compile(p) for p in lex.get("contrast", [])],     # each has its own group `n`
        "gap": lex.get("negation_gap", 4),
        "transparent": _compiled((r"(?:\s*\b(?:" + "|".join(re.escape(w) for w in lex.get("negation_transparent", []))
                        + r")\b)+\s*$") if lex.get("negation_transparent") else ""),
        "hypothetical": _union(hypo.get("always", [])),
        "hypothetical_before": _union(hypo.get("before", [])),
        "hypothetical_general": _union(hypo.get("general", [])),
        "corrections": _union(lex.get("corrections", [])),
        "conditional": _union(hypo.get("unless_done", [])),
        "done": _union(hypo.get("done", [])),
        "done_before": _union(hypo.get("done_before", [])),
        "then": _union(hypo.get("then", [])),
        "now": _union(hypo.get("now", [])),
        "questions": _union(lex.get("question_markers", [])),
        # `before` words must end right where the number starts
        "approximate_before": _union([f"(?:{p})$" for p in lex.get("approximate", {}).get("before", [])]),
        "approximate_after": _union(lex.get("approximate", {}).get("after", [])),
    }


class LazyPattern:
    """A fact pattern compiled on first use, and only tried when the text holds, for each part
    every match needs, one of that part's strings: a question touches a few of the hundreds of
    patterns, so the one-shot path compiles a few instead of all of them."""

    __slots__ = ("source", "needs", "_first", "_rx", "_program")

    def __init__(self, source: str, needs: tuple | None, program: tuple | None = None):
        self.source, self.needs, self._rx, self._program = source, needs, None, program
        # the first characters of the most selective part: most texts are ruled out by one
        # set operation, before any string is looked for
        self._first = frozenset(s[0] for s in needs[0]) if needs else None

    def __reduce__(self):
        # cached with its program: a later process builds the pattern without compiling it
        return LazyPattern, (self.source, self.needs, self._program or programs.program(self.source, re.ASCII))

    def finditer(self, text: str, chars: set):
        if self.needs is not None and (self._first.isdisjoint(chars)
                                       or not all(_holds(text, chars, need) for need in self.needs)):
            return ()
        if self._rx is None:
            # ASCII: `\b` is then an English word boundary even next to Chinese ("被close了").
            self._rx = programs.restore(self.source, re.ASCII, self._program)
            self._program = None
        return self._rx.finditer(text)


def _holds(text: str, chars: set, need: frozenset) -> bool:
    """Does the text contain one of these strings? Single characters are looked up in the set of
    the text's characters; a longer string only after its first character is found there."""
    return any((s in chars) if len(s) == 1 else (s[0] in chars and s in text) for s in need)


_MAX_NEEDS = 6      # the most selective parts kept per pattern


def necessary_strings(pattern: str) -> tuple | None:
    """String sets every match of `pattern` needs, one per part it cannot do without (a match
    contains at least one string of each set: "借呗" for a run of literals, a character for a
    class); None if unknown."""
    try:
        from re import _parser

        needs = _needs(_parser.parse(pattern, re.ASCII))
    except Exception:   # an unusual construct or another Python: always try the pattern
        return None
    # fewest alternatives first, then the longest strings: the parts that rule most texts out
    unique = sorted(set(needs), key=lambda n: (len(n), -min(map(len, n))))[:_MAX_NEEDS]
    return tuple(unique) if unique else None


def _needs(seq) -> list[frozenset]:
    """All the parts of a sequence a match needs; a run of literal characters is one part."""
    out: list[frozenset] = []
    run = ""
    for op, av in seq:
        if str(op) == "LITERAL":
            run += chr(av)
            continue
        if run:
            out.append(frozenset([run]))
            run = ""
        out.extend(_item_needs(str(op), av))
    if run:
        out.append(frozenset([run]))
    return out


def _item_needs(op: str, av) -> list[frozenset]:
    if op == "IN":
        chars: set[str] = set()
        for kind, value in av:
            kind = str(kind)
            if kind == "LITERAL":
                chars.add(chr(value))
            elif kind == "RANGE" and value[1] - value[0] < 256:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:
                return []
        return [frozenset(chars)]
    if op == "BRANCH":
        # one of the branches matches: the union of each branch's most selective part
        union: set[str] = set()
        for branch in av[1]:
            need = _needs(branch)
            if not need:
                return []
            union |= min(need, key=lambda n: (len(n), -min(map(len, n))))
        return [frozenset(union)]
    if op == "SUBPATTERN":
        return _needs(av[-1])
    if op == "ATOMIC_GROUP":
        return _needs(av)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _needs(av[2]) if av[0] >= 1 else []
    return []          # anchors, lookarounds, ANY, categories: no requirement


def _compiled(pattern: str) -> re.Pattern | None:
    """The lexicon's word lists compiled with the knowledge base (and cached with it); None if empty."""
    return re.compile(pattern) if pattern else None


def _union(patterns) -> re.Pattern | None:
    """One compiled pattern matching any of the lexicon's `patterns`; None if there are none."""
    return _compiled("|".join(f"(?:{p})" for p in patterns))


class Extractor:
    """Compiled patterns of one knowledge base; build once per Assistant."""

    def __init__(self, kb):
        self.kb = kb
        spec = kb.derived["extract"]
        self.gap = spec["gap"]
        self.transparent_rx = spec.get("transparent")
        self.post_negator_rx = spec.get("post_negators")
        self.negator_rx = spec.get("negators")
        self.breaker_rx = spec.get("breakers")
        self.subject_rx = spec.get("subjects")
        self.others_rx = spec.get("others")
        self.hypothetical_rx = spec.get("hypothetical")
        self.hypothetical_before_rx = spec.get("hypothetical_before")
        self.general_rx = spec.get("hypothetical_general")
        self.corrections_rx = spec.get("corrections")
        self.conditional_rx = spec.get("conditional")
        self.done_rx = spec.get("done")
        self.done_before_rx = spec.get("done_before")
        self.then_rx = spec.get("then")
        self.now_rx = spec.get("now")
        self.question_rx = spec.get("questions")
        self.not_negation_rx = spec.get("not_negations")
        self.self_rx = spec.get("self")
        self.joint_rx = spec.get("joint")
        self.contrast_rxs = spec.get("contrast", [])
        self.approximate_before_rx = spec.get("approximate_before")
        self.approximate_after_rx = spec.get("approximate_after")
        self.facts = spec["facts"]

    # ------------------------------------------------------------------ reading text

    def extract(self, text: str) -> tuple[dict, list[dict]]:
        """Facts stated in normalised `text`, and warnings about contradictions within it."""
        mentions: list[Mention] = []
        chars = set(text)
        for key, f in self.facts.items():
            found: list[Mention] = []
            for rx, value, negated, shadows in f["values"]:
                for m in rx.finditer(text, chars):
                    if self._negated(text, m.start()) or self._negated_after(text, m.start(), m.end()):
                        if negated is not None:
                            found.append(Mention(m.start(), m.end(), key, negated, shadows, negated=True))
                    else:
                        found.append(Mention(m.start(), m.end(), key, value, shadows))
            # "现在没收入": a negator inside a phrase that says what it means negates nothing after it
            direct = [d for d in found if not d.negated]
            found = [d for d in found if not d.negated or not any(k.start < d.start < k.end for k in direct)]
            for rx in f["numbers"]:
                for m in rx.finditer(text, chars):
                    n = parse_number(m.group("n") or "")   # `n` may sit in a branch that did not match
                    if n is not None and not self._approximate(text, m.start("n"), m.end("n")):
                        n = -n if m.groupdict().get("neg") else n
                        found.append(Mention(m.start(), m.end(), key, int(n) if n == int(n) else n,
                                             f["shadows"]))
            if f["amount"]:
                found.extend(self._amount_changes(text, chars, key, f["amount"]))
            found = [m for m in found
                     if not self._hypothetical(text, m, conditional=not f["stated_in_questions"],
                                               own_number=f["int"])]
            for rx, value, shadows in f["presupposed"] if not found else ():   # asked because it is so
                found.extend(Mention(m.start(), m.end(), key, value, shadows) for m in rx.finditer(text, chars)
                             if not self._negated(text, m.start()) and not self._general(text, m.start()))
            if f["user_only"] and self.others_rx is not None:
                theirs = [m for m in found if self._about_others(text, m.start)]
                found = [m for m in found if m not in theirs]
                if f["int"] and not theirs and not found and f["theirs_words"] is not None:
                    # "我老婆芝麻分800多,我才620": their fact named, with a number we do not read
                    theirs = [Mention(w.start(), w.end(), key, None) for w in f["theirs_words"].finditer(text)
                              if self._about_others(text, w.start())][:1]
                if f["int"] and theirs and self.contrast_rxs:
                    found.extend(self._contrasted(text, key, theirs, found))
            if f.get("redirect"):
                found = [r for r in (self._redirected(text, m, f) for m in found) if r is not None]
            mentions.extend(found)
        # shadows first: a claim later taken back ("sesame from 720 to 680… now it's 680") still
        # says what its words were about
        kept = _unshadowed(mentions)
        corrections = ([] if self.corrections_rx is None
                       else [(m.start(), m.end()) for m in self.corrections_rx.finditer(text)])
        if corrections:
            kept.extend(self._restated_numbers(text, kept, corrections))
            kept = _taken_back(kept, corrections)
        return self._settle(text, kept + self._claimed_statuses(text, kept))

    def _approximate(self, text: str, start: int, end: int) -> bool:
        """"700以上", "大概七百", "over 700": a number said to be roughly so states no number."""
        if self.approximate_after_rx is not None and self.approximate_after_rx.match(text, end):
            return True
        return (self.approximate_before_rx is not None
                and self.approximate_before_rx.search(text, max(0, start - 16), start) is not None)

    def _claimed_statuses(self, text: str, kept: list[Mention]) -> list[Mention]:
        """"信用卡逾期过,已经还清了": the overdue belongs to credit_report_negative, but with its
        status said (in its sentence or the next) it is also the user's own late payment
        (`claimed_status`), unless the user stated that fact themself."""
        found = []
        for key, f in self.facts.items():
            if f["claimed"] is None or any(m.fact == key for m in kept):
                continue
            mention_rx, statuses = f["claimed"]
            for c in kept:
                if c.value is not True or key not in c.shadows or not mention_rx.search(text, c.start, c.end):
                    continue
                before = [m.end() for m in _SENTENCE_END.finditer(text, 0, c.start)]
                start = before[-1] if before else 0
                after = _SENTENCE_END.search(text, c.end)      # the status may follow in the next sentence
                after = after and _SENTENCE_END.search(text, after.end())
                end = after.start() if after else len(text)
                value = next((v for v, rx in statuses if rx.search(text, start, end)), None)
                if value is not None:
                    found.append(Mention(c.start, c.end, key, value, named=True))
                    break
        return found

    def _contrasted(self, text: str, key: str, theirs: list[Mention], mine: list[Mention]) -> list[Mention]:
        """"我老婆芝麻分800,我才620": after someone else's number, the user's own bare number in
        the same sentence states the same fact for the user."""
        found = []
        last = theirs[-1]
        sentence_end = _SENTENCE_END.search(text, last.end)
        stop = sentence_end.start() if sentence_end else len(text)
        hits = sorted((m for rx in self.contrast_rxs for m in rx.finditer(text, last.end, stop)),
                      key=lambda m: m.start())
        for m in hits:
            n = parse_number(m.group("n"))
            if n is None or n != int(n) or any(x.start >= m.start() for x in mine):
                continue
            found.append(Mention(m.start("n"), m.end("n"), key, int(n)))
            break
        return found

    def _restated_numbers(self, text: str, mentions: list[Mention], corrections) -> list[Mention]:
        """"芝麻分720,哦不对,是702": a bare number just after a correction restates the number
        fact mentioned just before the correction."""
        found = []
        for start, end in corrections:
            before = [m for m in mentions if m.end <= start and start - m.end <= _CORRECTION_REACH
                      and self.facts[m.fact]["int"]]
            if not before:
                continue
            fact = before[-1].fact
            if any(m.fact == fact and m.start >= end for m in mentions):
                continue          # the fact is named again after the correction: that mention counts
            number = _BARE_NUMBER.search(text, end, end + _CORRECTION_REACH + 12)
            if number and number.start() >= end + _CORRECTION_REACH:
                number = None
            n = parse_number(number.group("n")) if number else None
            if n is not None and n == int(n):
                found.append(Mention(number.start("n"), number.end("n"), fact, int(n)))
        return found

    @staticmethod
    def _redirected(text: str, m: Mention, f: dict) -> Mention | None:
        """The mention as its subject makes it: "花呗额度砍成0" is about 花呗, so it states a
        linked-product problem, not a closed 借呗. The subject is the one named last before the
        mention in its clause, or inside it; the fact's own subject keeps it."""
        said = text[m.start:m.end]
        if f["own"].search(text, m.start, m.end):      # lookbehinds see the text before
            return Mention(m.start, m.end, m.fact, m.value, m.shadows, named=True)
        # named just after, as the object ("can't see jiebei", "关了我的借呗"), before anything else
        after = _CLAUSE_END.split(text[max(0, m.end - 1):m.end + 16])[0][1:]
        own_after = f["own"].search(after)
        if own_after and not any(rx.search(after, 0, own_after.start()) for rx, _, _ in f["redirect"]):
            return m
        obj = _OBJECT_LEAD.match(after).end()
        for rx, fact, values in f["redirect"]:     # "they closed my huabei": the object decides
            if rx.match(after, obj):
                return _speaking_for(m, fact, values)
        before = _clause_before(text, m.start, _CLAUSE_REACH)
        last_own = max((x.end() for x in f["own"].finditer(before)), default=-1)
        best = None
        for rx, fact, values in f["redirect"]:
            inside = rx.search(said)
            where = len(before) + 1 if inside else max((x.end() for x in rx.finditer(before)), default=-1)
            if where > last_own and (best is None or where > best[0]):
                best = (where, fact, values)
        return m if best is None else _speaking_for(m, best[1], best[2])

    @staticmethod
    def _clause(text: str, start: int, end: int) -> tuple[str, str]:
        """The clause around a mention: the text before it and after it, up to punctuation."""
        before = _clause_before(text, start, _CLAUSE_REACH)
        after = _CLAUSE_END.split(text[max(0, end - 1):end + _CLAUSE_REACH])[0][1:]
        return before, after

    def _negated_after(self, text: str, start: int, end: int) -> bool:
        """Is the phrase denied right after it ("提前还款从来没有", "逾期次数: 0")? Not when it
        asks ("降额了没有?") or already holds a negator of its own."""
        if self.post_negator_rx is None or text[start:end].endswith("了"):
            return False
        if self.negator_rx is not None and any(
                not (self.not_negation_rx and self.not_negation_rx.match(text, n.start()))
                for n in self.negator_rx.finditer(text, start, end)):
            return False
        return bool(self.post_negator_rx.match(text, end))

    def _negated(self, text: str, start: int) -> bool:
        """Is the phrase at `start` negated by a negator just before it, in the same clause?

        A phrase that itself starts with a negator (没有网贷) says what it means already.
        """
        if self.negator_rx is None or self.negator_rx.match(text, start):
            return False
        # a negator the phrase starts inside of (木有信用卡: the phrase matched from 有)
        for m in self.negator_rx.finditer(text, max(0, start - 3), start + 3):
            if m.start() < start < m.end():
                return True
        english = start > 0 and text[start - 1:start + 1].isascii()
        # English counts words, not characters: "never defaulted or been late" is negated
        before = _clause_before(text, start, 40 if english else self.gap + 8)
        if self.breaker_rx is not None:
            before = self.breaker_rx.split(before)[-1]
        offset = start - len(before)
        # "never been late", "not once had a late payment": helper words do not use up the gap
        if self.transparent_rx is not None:
            before = self.transparent_rx.sub("", before)

        own_subject = not english and self.subject_rx is not None and self.subject_rx.match(text, start)

        def near(m: re.Match) -> bool:
            if english:
                return len(before[m.end():].split()) <= _ENGLISH_NEGATION_WORDS
            if own_subject and _HAN_RUN.search(before, m.end()):
                return False    # "没网贷支付宝天天用": 没 is about 网贷
            return len(before) - m.end() <= self.gap
        return any(near(m) and not _a_not_a(before, m)
                   and not (self.not_negation_rx and self.not_negation_rx.match(text, offset + m.start()))
                   for m in self.negator_rx.finditer(before))

    def _hypothetical(self, text: str, m: Mention, conditional: bool = True,
                      own_number: bool = False) -> bool:
        """Is the mention in a general or conditional question rather than a statement?

        "什么是多头借贷", "如果换了手机号": always. "提前还款会影响额度吗": unless the mention
        says it happened ("我提前还款了会影响吗", "借呗关了会恢复吗").
        """
        before, after = self._clause(text, m.start, m.end)
        clause = before + text[m.start:m.end] + after
        if self.hypothetical_rx is not None and self.hypothetical_rx.search(clause):
            return True
        if self.hypothetical_before_rx is not None and self.hypothetical_before_rx.search(before):
            return True
        # the consequence of an "if" clause earlier in the sentence, asked about: "如果征信有逾期,
        # 借呗是不是就没了"
        if self.hypothetical_rx is not None and self.question_rx is not None \
                and self.question_rx.search(clause):
            sentence = _sentence_before(text, m.start)
            earlier = sentence[:len(sentence) - len(before)]
            if earlier and self.hypothetical_rx.search(earlier):
                return True
        if own_number and self.self_rx is not None and self.self_rx.search(before[-6:]):
            return False      # "我才18岁能用借呗吗": a number the user gives about themself
        if conditional and self.conditional_rx is not None and self.conditional_rx.search(clause):
            # it happened: 了/过 just after a Chinese phrase, was/got/has been just before an English one
            done = (self.done_rx is not None and self.done_rx.search(text[m.start:m.end] + after[:2])) or (
                self.done_before_rx is not None and self.done_before_rx.search(before[-12:]))
            # …but "借呗逾期了会上征信吗" asks what follows if it happens, unless the user or a time
            # anchors it ("我借呗逾期了…", "现在逾期了…")
            if done and self.then_rx is not None and self.then_rx.match(after) \
                    and not (self.self_rx is not None and self.self_rx.search(before)) \
                    and not (self.now_rx is not None and self.now_rx.search(clause)):
                return True
            return not done
        return False

    def _general(self, text: str, start: int) -> bool:
        """Is the sentence around `start` a general or conditional question ("一般多久能恢复",
        "如果…会恢复吗"), which presupposes nothing about the user?"""
        before = _sentence_before(text, start)
        after = _SENTENCE_END.split(text[start:start + _CLAUSE_REACH])[0]
        sentence = before + after
        return any(rx is not None and rx.search(sentence)
                   for rx in (self.general_rx, self.hypothetical_rx, self.hypothetical_before_rx))

    def _about_others(self, text: str, start: int) -> bool:
        """Is the clause before `start` about someone other than the user? ("我儿子今年8岁"; but
        "我老公说我借呗被关了" is about the user again.)"""
        if self.self_rx is not None and self.self_rx.match(text, start):
            return False      # the mention names the user ("我的还好好的", "mine still works")
        # The person last named in the sentence so far, across commas: "帮我爸问的,他65岁了,
        # 借呗突然用不了" is still about the father.
        before = _sentence_before(text, start)
        others = [o for o in self.others_rx.finditer(before)
                  if not (self.joint_rx is not None and self.joint_rx.search(before[:o.start()]))]
        if not others:
            return False
        return not (self.self_rx is not None and self.self_rx.search(before, others[-1].end()))

    def asks(self, text: str) -> bool:
        """Does the text ask something (吗, 为什么, how …), rather than only state facts?"""
        return self.question_rx is not None and bool(self.question_rx.search(text))

    def reply_value(self, key: str, text: str):
        """The value a short reply ("没有", "no", "很少", "680") gives the fact just asked about."""
        f = self.facts.get(key)
        if f is None:
            return None
        said = _reply_key(text)
        if not said or len(said) > 16:
            return None
        if f["int"]:
            m = re.fullmatch(f"({NUMBER_PATTERN})(?:分|岁|points?|yearsold|years)?", said)
            n = parse_number(m.group(1)) if m else None
            return int(n) if n is not None and n == int(n) else None
        if said in f["replies"]:
            return f["replies"][said]
        # a reply phrase that makes up most of a short answer ("没有没有", "嗯经常"): the longest decides
        found = sorted((p for p in f["replies"] if p and p in said and 2 * len(p) >= len(said)),
                       key=len, reverse=True)
        return f["replies"][found[0]] if found else None

    def _amount_changes(self, text: str, chars: set, key: str, spec: dict) -> list[Mention]:
        found = []
        for rx in spec["patterns"]:
            for m in rx.finditer(text, chars):
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

    def _settle(self, text: str, mentions: list[Mention]) -> tuple[dict, list[dict]]:
        """One value per fact: overlapping mentions keep the longest; a mention said to be earlier
        (`earlier`: "之前关了三个月") gives way to one that is not; several values go by precedence."""
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
            earlier_rx = self.facts[key]["earlier"]
            if earlier_rx is not None and len(ms) > 1:
                now = [m for m in ms if not earlier_rx.search(_clause_before(text, m.start, _CLAUSE_REACH))]
                ms = now or ms
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


# Digits, or Chinese numerals of two characters or more (a lone 一 is "a", as in 看了一下).
_BARE_NUMBER = re.compile(r"(?<![0-9.])(?P<n>[0-9]+|[零〇一二两三四五六七八九十百]{2,})(?![0-9万千wk]|\.[0-9])")


def _taken_back(mentions: list[Mention], corrections) -> list[Mention]:
    """Drop a mention when a correction follows it and the same fact is mentioned after that
    correction ("之前逾期过,不对,…我自己没逾期过": never stands)."""
    def later_restated(m: Mention) -> bool:
        return any(start >= m.end and any(o.fact == m.fact and o.start >= end for o in mentions)
                   for start, end in corrections)
    return [m for m in mentions if not later_restated(m)]


def _speaking_for(m: Mention, fact: str, values: dict) -> Mention | None:
    """The mention restated as the other fact's value (closed → true); None when unmapped."""
    key = m.value if isinstance(m.value, str) else str(m.value).lower()
    return Mention(m.start, m.end, fact, values[key]) if key in values else None


def _sentence_before(text: str, start: int) -> str:
    """The sentence's text before `start`, across commas, within reach."""
    return _SENTENCE_END.split(text[max(0, start - _CLAUSE_REACH):start])[-1]


def _clause_before(text: str, start: int, reach: int) -> str:
    """The clause's text before `start`; the character at `start` is looked at too, so that a
    space between two Chinese words just before the mention ends the clause."""
    return _CLAUSE_END.split(text[max(0, start - reach):start + 1])[-1][:-1] if start < len(text) \
        else _CLAUSE_END.split(text[max(0, start - reach):start])[-1]


def _a_not_a(text: str, m: re.Match) -> bool:
    """Is this negator the middle of a question form (是不是, 有没有, 可不可以), not a negation?"""
    i, j = m.start(), m.end()
    return 0 < i and j < len(text) and text[i - 1] == text[j] and "\u4e00" <= text[j] <= "\u9fff"


def _unshadowed(mentions: list[Mention]) -> list[Mention]:
    """Drop mentions that start inside one which claims them ("信用卡逾期" is about another
    lender, so its 逾期 is not the user's own 借呗 record; but in "借呗和网商贷都关了" the 借呗
    mention starts before the 网商贷 one and stands)."""
    claims = [m for m in mentions if m.shadows]
    if not claims:
        return mentions
    return [m for m in mentions
            if m.named or not any(m.fact in c.shadows and c.start <= m.start < c.end and m is not c
                                  for c in claims)]


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
        # a number fact (a score stated as 700, given as 630) has no value labels: the number
        "labels": [labels.get(v, {"zh": str(v), "en": str(v)}) for v in values],
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
        if isinstance(raw, float) and not math.isfinite(raw):
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
    if not -1e15 < value < 1e15:    # far out of any range: no single digit explains it
        return None
    candidates = [c for c in (value * 10, value / 10) if c == int(c) and valid["min"] <= c <= valid["max"]]
    return int(candidates[0]) if len(candidates) == 1 else None
