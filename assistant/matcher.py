"""Stage 3: which topic the question is about, with a confidence in [0, 1], or an abstention.

The matcher learns only from the knowledge base: each topic's example questions and weighted
keywords, and `scope.yaml`'s examples of questions the assistant does not cover (treated as one
more class, "out of scope"). Five signals per class, combined with weights from `settings.yaml`:

* **nearest**: TF-IDF cosine to the class's closest examples, over Chinese character 1–3-grams
  (no spaces in Chinese, and n-grams survive typos and word order) and English words and pairs;
* **centroid**: cosine to the class's average example, which is steadier than any one example;
* **bayes**: a naive Bayes posterior over the same features, which weighs every word of a long
  question rather than the best-matching few;
* **keywords**: the topic's weighted keywords found in the question;
* **fuzzy**: rapidfuzz's edit-distance similarity to the closest example (typos, near copies).

It abstains when the best score is too low, when out-of-scope fits best, or when the top two are
too close to call and not neighbours; the alternatives are its "did you mean".
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter, defaultdict

OUT_OF_SCOPE = "__out_of_scope__"
SIGNALS = ("nearest", "centroid", "bayes", "keywords", "fuzzy")

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
# Long numbers are names here (95188, 12378), not quantities.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{5,}(?![0-9])")
_EN_STOP = frozenset(
    "a an the is are was were be been am i my me to of in on at for and or it this that do does did "
    "you your can could would will with what how why when where which who so im ive".split())


def grams(text: str) -> list[str]:
    """Features of normalised text: Chinese character 1–3-grams, English words and word pairs,
    long numbers."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        n = len(run)
        out.extend(run)
        out.extend(run[i:i + 2] for i in range(n - 1))
        out.extend(run[i:i + 3] for i in range(n - 2))
    words = [_stem(w) for w in _WORD.findall(text)]
    out.extend(w for w in words if w not in _EN_STOP)
    out.extend(f"{a} {b}" for a, b in zip(words, words[1:]))
    out.extend(_LONG_NUMBER.findall(text))
    return out


def _stem(word: str) -> str:
    """Light English stemming so 'closed', 'closing' and 'closes' meet."""
    word = word.replace("'", "")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class SparseRows:
    """Rows of (column, weight) pairs stored flat in three arrays, so the cached index loads as a
    few blocks of bytes rather than tens of thousands of small objects."""

    def __init__(self, rows: list[list[tuple[int, float]]]):
        self.offsets = array("I", [0])
        self.columns = array("I")
        self.weights = array("f")
        for row in rows:
            for column, weight in row:
                self.columns.append(column)
                self.weights.append(weight)
            self.offsets.append(len(self.columns))

    def row(self, i: int):
        a, b = self.offsets[i], self.offsets[i + 1]
        return zip(self.columns[a:b], self.weights[a:b])


def _tfidf(counts: Counter, vocab: dict[str, int], idf) -> dict[int, float]:
    """Unit-length TF-IDF vector over the known features, keyed by feature id."""
    vec = {}
    for g, tf in counts.items():
        gid = vocab.get(g)
        if gid is not None:
            vec[gid] = (1 + math.log(tf)) * idf[gid]
    norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
    return {g: w / norm for g, w in vec.items()}


def build_index(kb) -> dict:
    """Precompute vectors, centroids, naive Bayes tables and keywords (cached with the KB)."""
    from .normalise import normalise

    tables = kb.derived["normalise"]      # compiled just before the index (knowledge.build)
    classes = [*kb.topics, OUT_OF_SCOPE]
    class_of = {c: i for i, c in enumerate(classes)}
    labels: list[int] = []
    texts: list[str] = []
    for tid, topic in kb.topics.items():
        for lang in ("zh", "en"):
            for q in topic["examples"][lang]:
                labels.append(class_of[tid])
                texts.append(normalise(q, tables, 10**6).text)
    for lang in ("zh", "en"):
        for q in kb.scope.get("out_of_scope", {}).get(lang, []):
            labels.append(class_of[OUT_OF_SCOPE])
            texts.append(normalise(q, tables, 10**6).text)

    counts = [Counter(grams(t)) for t in texts]
    df = Counter(g for c in counts for g in c)
    vocab = {g: i for i, g in enumerate(sorted(df))}
    n = len(texts)
    idf = array("f", [0.0] * len(vocab))
    for g, d in df.items():
        idf[vocab[g]] = math.log((n + 1) / (d + 0.5))

    postings: list[list[tuple[int, float]]] = [[] for _ in vocab]
    centroid_sum = [Counter() for _ in classes]
    for i, c in enumerate(counts):
        vec = _tfidf(c, vocab, idf)
        for gid, w in vec.items():
            postings[gid].append((i, w))
        centroid_sum[labels[i]].update(vec)
    centroids: list[list[tuple[int, float]]] = [[] for _ in vocab]
    for ci, vec in enumerate(centroid_sum):
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        for gid, w in vec.items():
            centroids[gid].append((ci, w / norm))

    # naive Bayes (multinomial, Laplace-smoothed), stored sparsely: how much a feature seen in a
    # class raises that class above the class's default
    class_counts = [Counter() for _ in classes]
    for i, c in enumerate(counts):
        class_counts[labels[i]].update(c)
    nb_default = [math.log(1 / (sum(cc.values()) + len(vocab))) for cc in class_counts]
    nb_rows: list[list[tuple[int, float]]] = [[] for _ in vocab]
    for ci, cc in enumerate(class_counts):
        for g, count in cc.items():
            nb_rows[vocab[g]].append((ci, math.log(count + 1)))

    keywords = [[(normalise(k, tables, 10**6).text, w) for k, w in kb.topics[c]["keywords"].items()]
                if c in kb.topics else [] for c in classes]
    domain_terms = sorted({normalise(t, tables, 10**6).text for t in kb.scope.get("domain_terms", [])} - {""})
    return {
        # one byte per example while there are fewer than 256 classes, four beyond
        "classes": classes, "labels": array("B" if len(classes) < 256 else "I", labels), "texts": texts,
        "vocab": vocab, "idf": idf,
        "postings": SparseRows(postings), "centroids": SparseRows(centroids),
        "nb_rows": SparseRows(nb_rows), "nb_default": nb_default,
        "keywords": keywords, "domain_terms": domain_terms,
        "needs_keyword": [t for t, topic in kb.topics.items() if topic["needs_keyword"]],
        "related": {tid: t["related"] for tid, t in kb.topics.items()},
    }


class Matcher:
    def __init__(self, kb):
        self.index = kb.derived["matcher"]
        self.settings = kb.settings["matcher"]
        self.classes = self.index["classes"]
        self.topics = self.classes[:-1]
        self._position = {c: i for i, c in enumerate(self.classes)}

    def signals(self, text: str) -> dict[str, dict[str, float]]:
        """Each signal's score in [0, 1] for every class (topics and out-of-scope)."""
        from rapidfuzz import fuzz, process

        idx = self.index
        classes = self.classes
        n_classes = len(classes)
        vocab = idx["vocab"]
        q = Counter(grams(text))
        qvec = _tfidf(q, vocab, idx["idf"])

        # nearest examples and centroids
        sims: dict[int, float] = defaultdict(float)
        cent = [0.0] * n_classes
        postings, centroids = idx["postings"], idx["centroids"]
        for gid, w in qvec.items():
            for i, ew in postings.row(gid):
                sims[i] += w * ew
            for ci, cw in centroids.row(gid):
                cent[ci] += w * cw
        labels = idx["labels"]
        per_class: list[list[float]] = [[] for _ in classes]
        for i, sim in sims.items():
            per_class[labels[i]].append(sim)
        k = self.settings["top_examples"]
        nearest = {}
        for ci, cls in enumerate(classes):
            top = sorted(per_class[ci], reverse=True)[:k]
            nearest[cls] = (0.6 * top[0] + 0.4 * sum(top) / len(top)) if top else 0.0

        # naive Bayes posterior over the known features (unknown ones say nothing)
        nb_rows, nb_default = idx["nb_rows"], idx["nb_default"]
        known_ids = [(vocab[g], tf) for g, tf in q.items() if g in vocab]
        known = sum(tf for _, tf in known_ids)
        log_p = [known * d for d in nb_default]
        for gid, tf in known_ids:
            for ci, delta in nb_rows.row(gid):
                log_p[ci] += tf * delta
        if known:
            top = max(log_p)
            # tempered: long questions should not make the posterior absurdly sharp
            temper = self.settings["bayes_temperature"] * math.sqrt(known)
            exps = [math.exp((lp - top) / temper) for lp in log_p]
            total = sum(exps)
            bayes = {cls: exps[ci] / total for ci, cls in enumerate(classes)}
        else:
            bayes = dict.fromkeys(classes, 0.0)

        # keywords
        scale = self.settings["keyword_scale"]
        keywords = {}
        for ci, cls in enumerate(classes):
            kw_sum = sum(w for term, w in idx["keywords"][ci] if term and term in text)
            keywords[cls] = 1 - math.exp(-max(kw_sum, 0.0) / scale)

        # fuzzy: the closest example by edit distance
        fuzzy = dict.fromkeys(classes, 0.0)
        if text:
            for _, score, i in process.extract(text, idx["texts"], scorer=fuzz.ratio, limit=None,
                                               score_cutoff=30):
                cls = classes[labels[i]]
                if score / 100 > fuzzy[cls]:
                    fuzzy[cls] = score / 100
        return {"nearest": nearest, "centroid": dict(zip(classes, cent)), "bayes": bayes,
                "keywords": keywords, "fuzzy": fuzzy}

    def scores(self, text: str) -> dict[str, float]:
        """Combined score in [0, 1] for every class: the weighted mean of the signals, scaled
        down for a question outside the domain, or for a keyword-gated topic without its keywords."""
        s = self.settings
        sig = self.signals(text)
        weights = {name: s[f"weight_{name}"] for name in SIGNALS}
        total = sum(weights.values()) or 1.0
        out = {cls: max(0.0, min(1.0, sum(weights[n] * sig[n][cls] for n in SIGNALS) / total))
               for cls in self.classes}
        gated = self.index["needs_keyword"]
        for topic in gated:
            if sig["keywords"][topic] == 0:
                out[topic] *= s["missing_keyword"]
        terms = self.index["domain_terms"]
        if not terms:
            return out
        if any(t in text for t in terms):
            out[OUT_OF_SCOPE] *= s["inside_domain"]
        else:
            for topic in self.topics:
                if topic not in gated:
                    out[topic] *= s["outside_domain"]
        return out

    def match(self, text: str) -> dict:
        """The contract's `match`: topic or abstention, confidence, alternatives; plus `ranking`
        (every topic, best first) and `scores` (every topic's confidence) for callers to pop."""
        s = self.settings
        scores = self.scores(text)
        position = self._position
        ranking = sorted(self.topics, key=lambda t: (-scores[t], position[t]))
        best = ranking[0]
        conf = round(scores[best], 3)
        runner_up = scores[ranking[1]] if len(ranking) > 1 else 0.0
        too_close = (scores[best] - runner_up) < s["margin"] and ranking[1] not in self.index["related"][best]
        out_of_scope = scores[OUT_OF_SCOPE] >= scores[best] * s["oos_ratio"]
        abstain = scores[best] < s["abstain_below"] or out_of_scope or too_close
        n_alt = s["alternatives"]
        alternatives = ranking[:n_alt] if abstain else ranking[1:n_alt]
        return {
            "topic": None if abstain else best,
            "confidence": conf,
            "abstained": abstain,
            "alternatives": [{"topic": t, "confidence": round(scores[t], 3)} for t in alternatives],
            "ranking": ranking,
            "scores": {t: round(scores[t], 3) for t in self.topics},
        }
