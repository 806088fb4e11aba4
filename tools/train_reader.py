"""Train the learned reader (`assistant/reader.py`) on the labelled cases and write knowledge/reader.json.

    make reader            # or: .venv/bin/python tools/train_reader.py

One multinomial logistic regression per fact that has named values, fitted by plain SGD over the
features of `reader.features`; deterministic (a seeded shuffle, features in sorted order), so the
same data gives the same file. Weights too small to change a reading are dropped to keep the file
(and the start-up) small. `tests/test_reader.py` checks the shipped file was trained on the data
as it is now.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import knowledge  # noqa: E402
from assistant.knowledge import _same_value  # noqa: E402
from assistant.normalise import normalise  # noqa: E402
from assistant.reader import FEATURES_VERSION, features  # noqa: E402

DATA = [ROOT / "tests" / "data" / "facts.yaml", ROOT / "tests" / "data" / "fact_phrases.yaml"]
# In a one-fact phrase, a fact it does not name is not known to be absent: it trains only its own fact.
PARTIAL = {"fact_phrases.yaml"}


def data_fingerprint(paths=DATA) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def fit(job):
    """One fact's model: (values, bias, weights) from (features, label index or None) rows."""
    key, values, rows, epochs, rate, prune = job
    n = len(values)
    weights: dict[str, list[float]] = {}
    bias = [0.0] * n
    order = list(range(len(rows)))
    rng = random.Random(0)
    for epoch in range(epochs):
        rng.shuffle(order)
        step = rate / (1 + epoch)
        for i in order:
            feats, y = rows[i]
            scores = list(bias)
            for f in feats:
                w = weights.get(f)
                if w is not None:
                    for c in range(n):
                        scores[c] += w[c]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            grad = [e / total for e in exps]
            grad[y] -= 1.0
            if max(abs(g) for g in grad) < 0.01:     # already read right with confidence
                continue
            for c in range(n):
                if grad[c]:
                    bias[c] -= step * grad[c]
                    for f in feats:
                        w = weights.get(f)
                        if w is None:
                            w = weights[f] = [0.0] * n
                        w[c] -= step * grad[c]
    kept = {f: [round(x, 4) for x in w] for f, w in sorted(weights.items()) if max(map(abs, w)) >= prune}
    return key, {"values": values, "bias": [round(b, 4) for b in bias], "weights": kept}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", default=str(ROOT / "knowledge"), help="knowledge base to read and write into")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--prune", type=float, default=0.15, help="drop weights all below this in size")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)

    kb = knowledge.load(args.kb)
    lexicon, limit = kb.derived["normalise"], kb.settings["input_limit"]
    cases = []
    for path in DATA:
        for c in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append((features(normalise(c["text"], lexicon, limit).text), c.get("facts") or {},
                          path.name in PARTIAL))
    jobs = []
    for key, fact in kb.facts.items():
        if fact["type"] == "int":
            continue
        values = [None] + [v["id"] for v in fact["values"]]
        rows = []
        for feats, facts, partial in cases:
            if partial and key not in facts:
                continue
            value = facts.get(key)
            if value is not None and not _same_value(value, values[1:]):   # a label the fact does not have
                continue
            rows.append((feats, values.index(value)))
        jobs.append((key, values, rows, args.epochs, args.rate, args.prune))
    with ProcessPoolExecutor(args.jobs) as pool:
        facts = dict(pool.map(fit, jobs))
    model = {
        "about": "Learned reader weights, written by tools/train_reader.py; do not edit by hand.",
        "features_version": FEATURES_VERSION,
        "trained_on": {"files": [str(p.relative_to(ROOT)) for p in DATA], "cases": len(cases),
                       "sha256": data_fingerprint()},
        "training": {"epochs": args.epochs, "rate": args.rate, "prune": args.prune},
        "facts": {k: facts[k] for k, *_ in jobs},
    }
    out = Path(args.kb) / "reader.json"
    out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    size = sum(len(f["weights"]) for f in model["facts"].values())
    print(f"{out}: {len(jobs)} facts, {size} weights, trained on {len(cases)} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
