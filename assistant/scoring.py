"""Stage 4: score the causes. Additive, transparent, driven only by the knowledge base's rules.

A cause's points are the sum of its contributions; each contribution is one rule of `causes.yaml`
that holds for one fact the user gave, so every point traces to a rule and a fact. `open_points`
is what the facts still unknown could add at most. Bands come from `settings.yaml`.
Facts no rule mentions change nothing; the same facts always give the same result.
"""

from __future__ import annotations


def holds(cond: dict, value) -> bool:
    """Does a rule's or remedy's condition hold for this value of its fact?"""
    if cond.get("value") is not None:
        return _equal(cond["value"], value)
    if cond.get("values") is not None:
        return any(_equal(v, value) for v in cond["values"])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    lo, hi = cond.get("at_least"), cond.get("below")
    return (lo is None or value >= lo) and (hi is None or value < hi)


def _equal(a, b) -> bool:
    # True == 1 in Python; a rule on `true` must not fire for the number 1.
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def points(cause: dict, facts: dict) -> int:
    return sum(r["points"] for r in cause["rules"] if r["fact"] in facts and holds(r, facts[r["fact"]]))


def band(kb, pts: int) -> str:
    bands = kb.settings["bands"]
    for b in bands:
        if pts >= b["min_points"]:
            return b["id"]
    return bands[-1]["id"]


def candidate_values(kb, key: str, rules: list[dict]) -> list:
    """Values worth trying for an unknown fact: its allowed values, or each rule boundary of a number."""
    fact = kb.facts[key]
    if fact["type"] != "int":
        return [v["id"] for v in fact["values"]]
    valid = fact["valid"]
    cuts = {valid["min"], valid["max"]}
    for r in rules:
        for edge in (r.get("at_least"), r.get("below")):
            if edge is not None:
                cuts.update({int(edge), int(edge) - 1})
        if r.get("value") is not None:
            cuts.add(r["value"])
        cuts.update(r.get("values") or ())
    return sorted(c for c in cuts if valid["min"] <= c <= valid["max"])


def open_points(kb, cause: dict, facts: dict) -> int:
    """The most the facts not yet known could add to this cause."""
    unknown: dict[str, list[dict]] = {}
    for r in cause["rules"]:
        if r["fact"] not in facts:
            unknown.setdefault(r["fact"], []).append(r)
    total = 0
    for key, rules in unknown.items():
        best = max(sum(r["points"] for r in rules if holds(r, v)) for v in candidate_values(kb, key, rules))
        total += max(best, 0)
    return total


def rank(kb, facts: dict, lang: str) -> list[dict]:
    """Every cause with its points, band, contributions and open points, highest first."""
    out = []
    for order, cause in enumerate(kb.causes.values()):
        contributions = [
            {"fact": r["fact"], "value": facts[r["fact"]], "points": r["points"], "reason": r["reason"][lang]}
            for r in cause["rules"] if r["fact"] in facts and holds(r, facts[r["fact"]])
        ]
        pts = sum(c["points"] for c in contributions)
        out.append({
            "id": cause["id"], "title": cause["title"][lang], "points": pts, "band": band(kb, pts),
            "scope": cause["scope"], "contributions": contributions,
            "open_points": open_points(kb, cause, facts), "_order": order,
        })
    out.sort(key=lambda c: (-c["points"], -c["open_points"], c["_order"]))
    for c in out:
        del c["_order"]
    return out


def _ranking(kb, facts: dict) -> list[tuple[str, int]]:
    scored = [(cid, points(c, facts), i) for i, (cid, c) in enumerate(kb.causes.items())]
    scored.sort(key=lambda x: (-x[1], x[2]))
    return [(cid, p) for cid, p, _ in scored]


def follow_ups(kb, facts: dict, skip: set[str], limit: int, top: int) -> list[str]:
    """Unknown facts whose answer could change the top of the ranking most, best first.

    For each unknown fact and each value it could take, re-rank; its impact is the largest change
    among the causes in the top `top` before or after (a new leader counts most).
    """
    used = {r["fact"] for c in kb.causes.values() for r in c["rules"]}
    before = _ranking(kb, facts)
    before_points = dict(before)
    before_top = [cid for cid, _ in before[:top]]
    impacts = []
    for order, key in enumerate(kb.facts):
        if key in facts or key in skip or key not in used:
            continue
        rules = [r for c in kb.causes.values() for r in c["rules"] if r["fact"] == key]
        best = 0.0
        for value in candidate_values(kb, key, rules):
            after = _ranking(kb, {**facts, key: value})
            after_top = [cid for cid, _ in after[:top]]
            after_points = dict(after)
            change = sum(abs(after_points[c] - before_points[c]) for c in set(before_top) | set(after_top))
            if after_top[:1] != before_top[:1] and after[0][1] > 0:
                change += 1000
            best = max(best, change)
        if best > 0:
            impacts.append((-best, order, key))
    impacts.sort()
    return [key for _, _, key in impacts[:limit]]
