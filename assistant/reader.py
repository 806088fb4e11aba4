"""The learned reader: a second pass over a message for the facts the patterns did not find.

The patterns of `extract.py` read what they were written for and know where each fact sits; people
phrase a fact in more ways than patterns can list. The reader is a linear model, one per fact, over
Chinese character n-grams and English words, trained on the labelled cases under `tests/data` by
`tools/train_reader.py` and shipped as `knowledge/reader.json`. For a fact the patterns left
unknown it gives a probability per value; a value is taken only at or above the knowledge base's
`reader.threshold`, never over a fact the patterns read, and never in a message that talks about
someone else (bag-of-words cannot tell whose fact it is). Each reading carries the words it rests
on, so the answer can say it was read, not stated, and the user can correct it.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass

# Bump when `features` changes: a model trained on other features must be retrained.
FEATURES_VERSION = 1

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z0-9']+")
_CLAUSE_END = re.compile(r"[,.;!?\n:]")
_QUOTE_MAX = 40


def features(text: str) -> list[str]:
    """Sorted distinct features of normalised text: Chinese character bi- and trigrams (with ^ and $
    at a run's edges), English words (`w:`) and word pairs (`b:`)."""
    out: set[str] = set()
    for run in _HAN.findall(text):
        s = "^" + run + "$"
        out.update(s[i:i + 2] for i in range(len(s) - 1))
        out.update(s[i:i + 3] for i in range(len(s) - 2))
    words = _WORD.findall(text)
    out.update("w:" + w for w in words)
    out.update(f"b:{a}_{b}" for a, b in zip(words, words[1:]))
    return sorted(out)


def feature_text(feature: str) -> str:
    """The words a feature stands for, as they appear in the text."""
    if feature.startswith("w:"):
        return feature[2:]
    if feature.startswith("b:"):
        return feature[2:].replace("_", " ")
    return feature.strip("^$")


@dataclass(frozen=True)
class Reading:
    fact: str
    value: object
    probability: float
    evidence: str       # the clause holding the words that weighed most for the value


def _key(feature: str) -> int:
    """A stable 64-bit key for a feature (str hashes change from one process to the next)."""
    b = feature.encode("utf-8")
    return zlib.crc32(b) << 32 | zlib.adler32(b)


def compile_reader(facts: dict) -> dict:
    """reader.json's `facts` in the form the reader uses and the cache loads at once.

    Per fact: its values (None = not stated) and biases. Per feature, one record of (fact number,
    float32 weight per value) for each fact it weighs on, all records in one `blob`, found by the
    feature's sorted 64-bit key. Tens of thousands of small objects would make every start of
    `ask` several milliseconds slower to unpickle; three flat arrays cost nothing.
    """
    names = list(facts)
    records: dict[int, list[bytes]] = {}
    for i, name in enumerate(names):
        for feature, w in facts[name]["weights"].items():
            records.setdefault(_key(feature), []).append(bytes([i]) + array("f", w).tobytes())
    keys, ends, blob = array("Q"), array("I"), bytearray()
    for k in sorted(records):
        blob += b"".join(records[k])
        keys.append(k)
        ends.append(len(blob))
    return {"facts": [(name, list(facts[name]["values"]), list(facts[name]["bias"])) for name in names],
            "keys": keys, "ends": ends, "blob": bytes(blob)}


def _weights(blob: bytes, widths: list[int]):
    """(fact number, weights) pairs of one feature's record."""
    pos = 0
    while pos < len(blob):
        i = blob[pos]
        n = widths[i]
        yield i, struct.unpack_from(f"{n}f", blob, pos + 1)
        pos += 1 + 4 * n


class Reader:
    """The compiled model of one knowledge base; `read` is the whole interface."""

    def __init__(self, kb):
        compiled = kb.derived.get("reader") or compile_reader({})
        self.facts = compiled["facts"]
        self.keys, self.ends, self.blob = compiled["keys"], compiled["ends"], compiled["blob"]
        self.widths = [len(values) for _, values, _ in self.facts]
        self.threshold = kb.settings["reader"]["threshold"]
        self.others_rx = kb.derived["extract"].get("others")

    def read(self, text: str, known) -> list[Reading]:
        """Values of facts not in `known` that `text` most likely states, surest first."""
        if not self.facts or not text.strip():
            return []
        if self.others_rx is not None and self.others_rx.search(text):
            return []
        scores = [list(bias) for _, _, bias in self.facts]
        pulls: list[dict[str, tuple]] = [{} for _ in self.facts]    # fact → feature → its weights
        for feature in features(text):
            blob = self._record(feature)
            if not blob:
                continue
            for i, w in _weights(blob, self.widths):
                pulls[i][feature] = w
                s = scores[i]
                for c, x in enumerate(w):
                    s[c] += x
        readings = []
        for i, (key, values, _) in enumerate(self.facts):
            if key in known:
                continue
            top = max(scores[i])
            best = scores[i].index(top)
            probability = 1.0 / sum(math.exp(s - top) for s in scores[i])
            if values[best] is None or probability < self.threshold:
                continue
            readings.append(Reading(key, values[best], round(probability, 3),
                                    _evidence(text, pulls[i], best, values.index(None))))
        return sorted(readings, key=lambda r: -r.probability)

    def _record(self, feature: str) -> bytes:
        k = _key(feature)
        i = bisect_left(self.keys, k)
        if i == len(self.keys) or self.keys[i] != k:
            return b""
        return self.blob[self.ends[i - 1] if i else 0:self.ends[i]]


def _evidence(text: str, pulls: dict[str, tuple], best: int, none: int) -> str:
    """The clause around the feature that pulled hardest from "not stated" towards the value."""
    if not pulls:
        return ""
    words = feature_text(max(pulls, key=lambda f: pulls[f][best] - pulls[f][none]))
    at = text.find(words)
    if at < 0:
        return words
    start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, at)), default=0)
    end_match = _CLAUSE_END.search(text, at + len(words))
    end = end_match.start() if end_match else len(text)
    clause = text[start:end].strip()
    if len(clause) > _QUOTE_MAX:        # a long clause: the words themselves, with a little context
        left = max(start, at - 10)
        clause = "…" + text[left:at + len(words) + 10].strip() + "…"
    return clause
