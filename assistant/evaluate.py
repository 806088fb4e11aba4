"""`credit-assistant eval`: how well the matcher does on labelled questions it has never seen.

Reports top-1 and top-3 accuracy over in-scope items, out-of-scope recall (share of null items
abstained on), the false-abstain rate (share of in-scope items abstained on), per-topic precision
and recall, and the most confused pairs, in the manner of `rasa test`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from .errors import UsageError

OOS = "(out of scope)"
ABSTAIN = "(abstained)"


def load_cases(path: str | Path) -> list[tuple[str, tuple[str, ...] | None]]:
    """The labelled file as (text, acceptable topics or None for out of scope)."""
    import yaml

    p = Path(path)
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise UsageError(f"{p} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {p}: {exc}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"{p} is not valid YAML{where}.") from None
    if not isinstance(data, list) or not data:
        raise UsageError(f"{p} must be a non-empty YAML list of {{text, topic}} items.")
    cases = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or "topic" not in item:
            raise UsageError(f"{p}: item {i} needs `text` (a string) and `topic` (an id, a list of ids, or null).")
        topic = item["topic"]
        if topic is None:
            cases.append((item["text"], None))
        elif isinstance(topic, str):
            cases.append((item["text"], (topic,)))
        elif isinstance(topic, list) and topic and all(isinstance(t, str) for t in topic):
            cases.append((item["text"], tuple(topic)))
        else:
            raise UsageError(f"{p}: item {i}: `topic` must be an id, a list of ids, or null.")
    return cases


def evaluate(bot, cases: list[tuple[str, tuple[str, ...] | None]]) -> dict:
    unknown = sorted({t for _, ts in cases if ts for t in ts if t not in bot.kb.topics})
    if unknown:
        raise UsageError(f"The labels name topics the knowledge base does not have: {', '.join(unknown)}.")
    n_in = n_oos = top1 = top3 = abstain_in = abstain_oos = 0
    predicted = Counter()
    predicted_right = Counter()
    support = Counter()
    recalled = Counter()
    confusions = Counter()
    errors = []
    for text, acceptable in cases:
        m = bot.match(text)
        guess = None if m["abstained"] else m["topic"]
        if acceptable is None:
            n_oos += 1
            if m["abstained"]:
                abstain_oos += 1
            else:
                predicted[guess] += 1
                confusions[(OOS, guess)] += 1
                errors.append({"text": text, "expected": None, "got": guess})
            continue
        n_in += 1
        ok = guess in acceptable
        top1 += ok
        top3 += any(t in acceptable for t in m["ranking"][:3])
        abstain_in += m["abstained"]
        for t in acceptable:
            support[t] += 1
            recalled[t] += ok
        if guess is not None:
            predicted[guess] += 1
            predicted_right[guess] += ok
        if not ok:
            confusions[(acceptable[0], guess or ABSTAIN)] += 1
            errors.append({"text": text, "expected": list(acceptable), "got": guess})
    per_topic = {}
    for t in bot.kb.topics:
        per_topic[t] = {
            "precision": round(predicted_right[t] / predicted[t], 3) if predicted[t] else None,
            "recall": round(recalled[t] / support[t], 3) if support[t] else None,
            "support": support[t],
        }
    return {
        "n": len(cases),
        "n_in_scope": n_in,
        "n_out_of_scope": n_oos,
        "top1": round(top1 / n_in, 3) if n_in else None,
        "top3": round(top3 / n_in, 3) if n_in else None,
        "oos_recall": round(abstain_oos / n_oos, 3) if n_oos else None,
        "false_abstain": round(abstain_in / n_in, 3) if n_in else None,
        "per_topic": per_topic,
        "confused": [{"expected": a, "got": b, "count": c} for (a, b), c in confusions.most_common(10)],
        "errors": errors,
    }


def format_report(r: dict) -> str:
    def pct(x):
        return "  n/a" if x is None else f"{x:5.1%}"

    lines = [
        f"questions: {r['n']} ({r['n_in_scope']} in scope, {r['n_out_of_scope']} out of scope)",
        f"top-1 accuracy       {pct(r['top1'])}",
        f"top-3 accuracy       {pct(r['top3'])}",
        f"out-of-scope recall  {pct(r['oos_recall'])}",
        f"false abstain        {pct(r['false_abstain'])}",
        "",
        f"{'topic':<24}{'precision':>10}{'recall':>9}{'support':>9}",
    ]
    for t, m in r["per_topic"].items():
        lines.append(f"{t:<24}{pct(m['precision']):>10}{pct(m['recall']):>9}{m['support']:>9}")
    if r["confused"]:
        lines += ["", "most confused (expected → got):"]
        lines += [f"  {c['count']:>3}  {c['expected']} → {c['got']}" for c in r["confused"]]
    return "\n".join(lines)
