"""Stage 3: which topic the question is about, with a confidence in [0, 1], or an abstention.

The matcher learns only from the knowledge base: each topic's example questions and weighted
keywords, and `scope.yaml`'s examples of questions the assistant does not cover. Three signals,
combined with weights from `settings.yaml`:

* **examples**: TF-IDF cosine over character n-grams (Chinese has no spaces, and n-grams survive
  typos and reordering) and words (English), against every example; a topic scores by its best
  few examples;
* **keywords**: the topic's weighted keywords found in the question;
* **fuzzy**: rapidfuzz's edit-distance similarity to the closest example (typos, near copies).

It abstains when the best score is too low, when out-of-scope examples fit best, or when the top
two are too close to call; the alternatives are its "did you mean".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

OUT_OF_SCOPE = "__out_of_scope__"

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_EN_STOP = frozenset(
    "a an the is are was were be been am i my me to of in on at for and or it this that do does did "
    "you your can could would will with what how why when where which who".split())


def grams(text: str) -> list[str]:
    """Features of normalised text: Chinese character 1–3-grams, English words and word pairs."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        n = len(run)
        out.extend(run)
        out.extend(run[i:i + 2] for i in range(n - 1))
        out.extend(run[i:i + 3] for i in range(n - 2))
    words = [_stem(w) for w in _WORD.findall(text)]
    content = [w for w in words if w not in _EN_STOP]
    out.extend(content)
    out.extend(f"{a} {b}" for a, b in zip(words, words[1:]))
    return out


def _stem(word: str) -> str:
    """Light English stemming so 'closed', 'closing' and 'closes' meet."""
    word = word.replace("'", "")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def build_index(kb) -> dict:
    """Precompute the example vectors and keyword lists (cached with the knowledge base)."""
    from .normalise import compile_lexicon, normalise

    tables = compile_lexicon(kb.lexicon)
    labels: list[str] = []
    texts: list[str] = []
    for tid, topic in kb.topics.items():
        for lang in ("zh", "en"):
            for q in topic["examples"][lang]:
                labels.append(tid)
                texts.append(normalise(q, tables, 10**6).text)
    for lang in ("zh", "en"):
        for q in kb.scope.get("out_of_scope", {}).get(lang, []):
            labels.append(OUT_OF_SCOPE)
            texts.append(normalise(q, tables, 10**6).text)

    counts = [Counter(grams(t)) for t in texts]
    df = Counter(g for c in counts for g in c)
    n = len(texts)
    idf = {g: math.log((n + 1) / (d + 0.5)) for g, d in df.items()}
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, c in enumerate(counts):
        vec = {g: (1 + math.log(tf)) * idf[g] for g, tf in c.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        for g, w in vec.items():
            postings[g].append((i, w / norm))
    keywords = {
        tid: [(normalise(k, tables, 10**6).text, w) for k, w in topic["keywords"].items()]
        for tid, topic in kb.topics.items()
    }
    return {
        "labels": labels, "texts": texts, "idf": idf, "postings": dict(postings),
        "keywords": keywords, "topics": list(kb.topics), "related": {
            tid: t["related"] for tid, t in kb.topics.items()},
    }


class Matcher:
    def __init__(self, kb):
        self.index = kb.derived["matcher"]
        self.settings = kb.settings["matcher"]
        # Choices for rapidfuzz, grouped so one call scores them all.
        self._texts = self.index["texts"]
        self._labels = self.index["labels"]

    def scores(self, text: str) -> dict[str, float]:
        """Combined score in [0, 1] for every topic and for out-of-scope."""
        from rapidfuzz import fuzz, process

        s = self.settings
        idx = self.index
        q = Counter(grams(text))
        idf = idx["idf"]
        qvec = {g: (1 + math.log(tf)) * idf[g] for g, tf in q.items() if g in idf}
        qnorm = math.sqrt(sum(w * w for w in qvec.values())) or 1.0
        sims: dict[int, float] = defaultdict(float)
        postings = idx["postings"]
        for g, w in qvec.items():
            for i, ew in postings[g]:
                sims[i] += w * ew
        per_topic: dict[str, list[float]] = defaultdict(list)
        for i, sim in sims.items():
            per_topic[self._labels[i]].append(sim / qnorm)
        k = s["top_examples"]

        fuzzy: dict[str, float] = defaultdict(float)
        if text:
            for _, score, i in process.extract(text, self._texts, scorer=fuzz.ratio, limit=None,
                                               score_cutoff=30):
                label = self._labels[i]
                fuzzy[label] = max(fuzzy[label], score / 100)

        total_weight = s["weight_examples"] + s["weight_keywords"] + s["weight_fuzzy"]
        out: dict[str, float] = {}
        for label in [*idx["topics"], OUT_OF_SCOPE]:
            top = sorted(per_topic.get(label, ()), reverse=True)[:k]
            ex = (0.6 * top[0] + 0.4 * sum(top) / len(top)) if top else 0.0
            kw_sum = sum(w for term, w in idx["keywords"].get(label, ()) if term and term in text)
            kw = 1 - math.exp(-max(kw_sum, 0.0) / s["keyword_scale"])
            score = (s["weight_examples"] * ex + s["weight_keywords"] * kw
                     + s["weight_fuzzy"] * fuzzy.get(label, 0.0)) / total_weight
            out[label] = max(0.0, min(1.0, score))
        return out

    def match(self, text: str) -> dict:
        """The contract's `match`: topic or abstention, confidence, alternatives; plus `ranking`."""
        s = self.settings
        scores = self.scores(text)
        ranking = sorted(self.index["topics"], key=lambda t: (-scores[t], self.index["topics"].index(t)))
        best = ranking[0]
        conf = round(scores[best], 3)
        oos = scores[OUT_OF_SCOPE]
        runner_up = scores[ranking[1]] if len(ranking) > 1 else 0.0
        too_close = (conf - runner_up) < s["margin"] and ranking[1] not in self.index["related"][best]
        abstain = conf < s["abstain_below"] or oos >= scores[best] or too_close
        n_alt = s["alternatives"]
        alternatives = ranking[:n_alt] if abstain else ranking[1:n_alt]
        return {
            "topic": None if abstain else best,
            "confidence": conf,
            "abstained": abstain,
            "alternatives": [{"topic": t, "confidence": round(scores[t], 3)} for t in alternatives],
            "ranking": ranking,
        }
