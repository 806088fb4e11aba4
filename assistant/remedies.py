"""Stage 5: the next steps, in order, from the topic and the causes the user's facts point to.

For a closure or a cut: the core remedies of `settings.yaml` first (contact support, build
activity, diversify funding), then what each principal cause calls for, then the topic's own.
For any other topic: the topic's own. A remedy whose `unless` holds for the user is left out
(no "use Alipay more" for someone who already uses it every day).
"""

from __future__ import annotations

from .scoring import holds


def pick(kb, topic_id: str | None, principal: list[dict], facts: dict) -> list[str]:
    topic = kb.topics.get(topic_id) if topic_id else None
    chosen: list[str] = []
    if topic is not None and topic["explains_causes"]:
        chosen += kb.settings["core_remedies"]
        for cause in principal:
            chosen += kb.causes[cause["id"]]["remedies"]
    if topic is not None:
        chosen += topic["remedies"]
    ordered = list(dict.fromkeys(chosen))
    return [r for r in ordered if not _excluded(kb.remedies[r], facts)][: kb.settings["max_remedies"]]


def _excluded(remedy: dict, facts: dict) -> bool:
    return any(c["fact"] in facts and holds(c, facts[c["fact"]]) for c in remedy["unless"])
