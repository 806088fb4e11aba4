"""Stage 6: words. Advice (plain data) → text, Markdown, the export document or a chat message.

The templates and their labels (`templates/labels.yaml`, both languages) hold every word; this
module only gathers the context. Templates are fixed files rendered with `StrictUndefined`; the
user's text is only ever a value in the context, never a template, and Markdown output escapes it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from . import cache, paths
from .errors import KnowledgeBaseError

FORMS = {"text": "answer.txt.j2", "markdown": "answer.md.j2", "export": "export.md.j2",
         "chat": "chat.txt.j2"}
LANGS = ("zh", "en")


# ------------------------------------------------------------------ Markdown safety

_MD_INLINE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=*]|\d+[.)])", re.M)


def md_escape(text) -> str:
    """User text as inert Markdown: no heading, list, link, emphasis, HTML or table cell break."""
    s = str(text).replace("\r\n", "\n").replace("\r", "\n")
    s = _MD_INLINE.sub(r"\\\1", s)
    return s.replace("&", "&amp;").replace("\\<", "&lt;").replace("\\>", "&gt;")


def md_quote(text) -> str:
    """User text as a Markdown blockquote, each line escaped, so no line can become a heading."""
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join("> " + md_escape(line) if line.strip() else ">" for line in lines)


def md_cell(text) -> str:
    """User text for one table cell: escaped, on one line."""
    return md_escape(" ".join(str(text).split()))


def cell(text) -> str:
    """Our own text for one table cell: on one line, a `|` cannot end the cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def link_text(text) -> str:
    """Our own text inside [ ] of a Markdown link."""
    return str(text).replace("[", "\\[").replace("]", "\\]")


# ------------------------------------------------------------------ labels

def load_labels(templates_dir: Path) -> dict:
    path = templates_dir / "labels.yaml"
    return cache.cached("labels", [path], lambda: _validate_labels(path))


def _validate_labels(path: Path) -> dict:
    import yaml
    from pydantic import TypeAdapter, ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeBaseError(f"{path}: (file): missing; the templates need their labels") from None
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: YAML syntax error: {exc}") from None
    try:
        labels = TypeAdapter(dict[str, dict[str, str]]).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KnowledgeBaseError(f"{path.name}: {where}: {first['msg']}") from None
    if set(labels) != set(LANGS):
        raise KnowledgeBaseError(f"{path.name}: (top): needs exactly the languages zh and en")
    missing = set(labels["zh"]) ^ set(labels["en"])
    if missing:
        raise KnowledgeBaseError(f"{path.name}: {sorted(missing)[0]}: present in one language only")
    return labels


def fill(template: str, **values) -> str:
    """Put values into a label such as '你的{fact}是{value}' (labels are ours, never user text)."""
    for k, v in values.items():
        template = template.replace("{" + k + "}", str(v))
    return template


# ------------------------------------------------------------------ rendering

class Renderer:
    def __init__(self, kb, templates_dir: Path | None = None):
        self.kb = kb
        self.dir = Path(templates_dir) if templates_dir else paths.shipped("templates")
        self.labels = load_labels(self.dir)
        self._env = None

    @property
    def env(self):
        if self._env is None:
            import jinja2

            bytecode = None
            if cache.enabled():
                try:
                    bytecode = jinja2.FileSystemBytecodeCache(
                        str(paths.private_dir(paths.cache_dir() / "templates")))
                except OSError:
                    bytecode = None
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(self.dir)), undefined=jinja2.StrictUndefined,
                autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                bytecode_cache=bytecode, auto_reload=False)
            env.filters.update(md=md_escape, md_quote=md_quote, md_cell=md_cell, cell=cell,
                               link_text=link_text)
            self._env = env
        return self._env

    def render(self, form: str, advice: dict, **extra) -> str:
        context = self.context(advice, **extra)
        return self.env.get_template(FORMS[form]).render(context)

    # -------------------------------------------------------------- the context

    def value_label(self, key: str, value, lang: str) -> str:
        fact = self.kb.facts.get(key)
        if fact:
            for v in fact["values"]:
                if v["id"] == value and isinstance(v["id"], bool) == isinstance(value, bool):
                    return v["label"][lang]
        return str(value)

    def fact_title(self, key: str, lang: str) -> str:
        fact = self.kb.facts.get(key)
        return fact["title"][lang] if fact else key

    def warning_message(self, warning: dict, lang: str) -> str:
        """The sentence for a fact warning, from the fact's `valid.message` or the labels."""
        L = self.labels[lang]
        key = warning.get("fact")
        fact = self.kb.facts.get(key, {})
        valid = fact.get("valid")
        if valid and warning["code"] == valid["warning"]:
            text = valid["message"][lang]
        else:
            text = L.get(f"warning_{warning['code']}", L["warning_generic"])
        suggestion = warning.get("suggestion")
        msg = fill(text, fact=self.fact_title(key, lang) if key else "", value=warning.get("value", ""),
                   values=L["or"].join(self.value_label(key, v, lang) for v in warning.get("values", ())))
        if suggestion is not None:
            msg += fill(L["did_you_mean"], suggestion=suggestion)
        return msg

    def _unknown(self, advice: dict) -> list[str]:
        """Facts not yet known that some rule uses: the follow-up questions first, then by how
        many points they could still add to any cause."""
        known = advice["facts"]
        reach: dict[str, int] = {}
        for cause in self.kb.causes.values():
            for r in cause["rules"]:
                if r["fact"] not in known and r["points"] > 0:
                    reach[r["fact"]] = max(reach.get(r["fact"], 0), r["points"])
        asked = [f["fact"] for f in advice["follow_up"]]
        rest = sorted((k for k in reach if k not in asked), key=lambda k: -reach[k])
        return [k for k in asked if k in reach] + rest

    def context(self, advice: dict, *, transcript: list | None = None, now: dt.datetime | None = None,
                all_causes: bool = False) -> dict:
        kb, lang = self.kb, advice["lang"]
        L = self.labels[lang]
        match = advice["match"]
        topic = kb.topics.get(match["topic"]) if match["topic"] else None
        n_principal = kb.settings["principal_reasons"]
        positive = [c for c in advice["causes"] if c["points"] > 0]
        principal = positive if all_causes else positive[:n_principal]
        # Nothing the user said points anywhere yet: show what could, honestly labelled.
        possible = [] if positive else sorted(
            (c for c in advice["causes"] if c["open_points"] > 0),
            key=lambda c: -c["open_points"])[:n_principal]

        # facts the learned reader added: said to be read, wherever they are shown
        read = {n["fact"] for n in advice.get("notices", []) if n.get("code") == "fact_read"}

        def cause_view(c: dict) -> dict:
            return {
                **c,
                "band_label": next(b["label"][lang] for b in kb.settings["bands"] if b["id"] == c["band"]),
                "explanation": kb.causes[c["id"]]["explanation"][lang],
                "contributions": [
                    {**x, "fact_title": self.fact_title(x["fact"], lang),
                     "value_label": self.value_label(x["fact"], x["value"], lang), "read": x["fact"] in read}
                    for x in c["contributions"]],
            }

        unknown = self._unknown(advice) if advice["causes"] else []
        n_unknown = kb.settings["unknown_listed"]
        remedies = []
        seen_avoid: set[str] = set()
        for i, r in enumerate(advice["remedies"]):
            src = kb.remedies[r["id"]]
            # the same warning under several remedies is said once, where it first applies
            avoid = [a for a in src["avoid"][lang] if a not in seen_avoid]
            seen_avoid.update(avoid)
            remedies.append({**r, "avoid": avoid, "wait": src["wait"][lang] if src["wait"] else None,
                             "in_full": i < kb.settings["remedies_in_full"]})
        impacts = []
        for i in advice.get("impacts", []):
            src = kb.impacts[i["id"]]
            impacts.append({**i, "explanation": src["explanation"][lang], "prepare": src["prepare"][lang]})
        what_if = None
        if advice.get("what_if"):
            wi = advice["what_if"]
            before = {c["id"]: c for c in wi["causes_before"]}
            rows = [{"title": c["title"], "before": before[c["id"]]["points"], "after": c["points"],
                     "delta": c["points"] - before[c["id"]]["points"]}
                    for c in wi["causes_after"] if c["points"] or before[c["id"]]["points"]]
            what_if = {"changes": [{"fact_title": self.fact_title(k, lang),
                                    "value_label": self.value_label(k, v, lang)}
                                   for k, v in wi["changes"].items()],
                       "rows": rows}
        used_sources: list[str] = []
        if topic:
            used_sources += topic["sources"]
        for c in principal:
            used_sources += kb.causes[c["id"]]["sources"]
        for r in advice["remedies"]:
            used_sources += kb.remedies[r["id"]]["sources"]
        sources = [kb.sources[s] for s in dict.fromkeys(used_sources)]
        facts_table = []
        flagged = {w["fact"] for w in advice["warnings"] if w.get("fact")}
        for k, v in advice["facts"].items():
            facts_table.append({"title": self.fact_title(k, lang), "value_label": self.value_label(k, v, lang),
                                "flagged": k in flagged, "read": k in read})
        now = now or dt.datetime.now()
        return {
            "lang": lang, "L": L, "question": advice["question"], "match": match,
            "topic": {"id": topic["id"], "title": topic["title"][lang], "answer": topic["answer"][lang]}
            if topic else None,
            "alternatives": [{"id": a["topic"], "title": kb.topics[a["topic"]]["title"][lang],
                              "confidence": a["confidence"]} for a in match["alternatives"]
                             if a["topic"] in kb.topics
                             and a["confidence"] >= kb.settings["matcher"]["suggest_above"]],
            "showcase": [kb.topics[t]["title"][lang] for t in kb.settings["showcase_topics"]],
            "explains_causes": bool(advice["causes"]),
            "causes": [cause_view(c) for c in principal],
            "possible_causes": [cause_view(c) for c in possible],
            "more_causes": len(positive) - len(principal),
            "unknown": [self.fact_title(k, lang) for k in unknown[:n_unknown]],
            "more_unknown": max(0, len(unknown) - n_unknown),
            "remedies": remedies, "impacts": impacts,
            "follow_up": advice["follow_up"][0] if advice["follow_up"] else None,
            "warnings": [w["message"] for w in advice["warnings"]],
            "notices": [n["message"] for n in advice.get("notices", [])],
            "support": [{**s, "label": s["label"][lang], "note": s["note"][lang] if s["note"] else None}
                        for s in kb.support.values()],
            "what_if": what_if, "facts_table": facts_table, "sources": sources,
            "transcript": transcript or [],
            "date": now.strftime("%Y-%m-%d %H:%M"),
        }
