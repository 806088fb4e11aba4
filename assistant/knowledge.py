"""Loading the knowledge base: parse the YAML, validate it, check every cross-reference, compile.

Validation uses the pydantic models of `assistant.schema` and reports **every** problem as
`FILE: PATH: message`. A valid knowledge base is compiled into a `KnowledgeBase` of plain data plus
what the stages precompute (matcher index, extraction patterns), and cached (see `cache.py`) so
the one-shot path skips YAML, pydantic and index building.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, paths
from .errors import KnowledgeBaseError

# file → (kind, required). "list" files hold entries with an id; "one" files hold one mapping;
# "json" files are written by a tool (the learned reader's weights: too many for YAML to parse fast).
FILES: dict[str, tuple[str, bool]] = {
    "topics.yaml": ("list", True),
    "causes.yaml": ("list", True),
    "remedies.yaml": ("list", True),
    "impacts.yaml": ("list", False),
    "lessons.yaml": ("list", False),
    "facts.yaml": ("list", True),
    "sources.yaml": ("list", True),
    "support.yaml": ("list", False),
    "settings.yaml": ("one", True),
    "lexicon.yaml": ("one", False),
    "scope.yaml": ("one", False),
    "reader.json": ("json", False),
}


@dataclass
class KnowledgeBase:
    """A validated knowledge base as plain data (JSON-like dicts, in file order).

    `derived` holds what the stages precompute from it (built once, cached with it).
    """

    root: str
    topics: dict[str, dict]
    causes: dict[str, dict]
    remedies: dict[str, dict]
    impacts: dict[str, dict]
    lessons: dict[str, dict]
    facts: dict[str, dict]
    sources: dict[str, dict]
    support: dict[str, dict]
    settings: dict
    lexicon: dict
    scope: dict
    derived: dict[str, Any] = field(default_factory=dict)

    def listing(self) -> dict[str, list[dict]]:
        """The whole knowledge base as `kb list --format json` prints it."""
        return {
            "topics": list(self.topics.values()),
            "causes": list(self.causes.values()),
            "remedies": list(self.remedies.values()),
            "impacts": list(self.impacts.values()),
            "lessons": list(self.lessons.values()),
            "facts": [{"id": f["key"], **f} for f in self.facts.values()],
            "sources": list(self.sources.values()),
            "support": list(self.support.values()),
        }


# --------------------------------------------------------------------------- loading

def resolve_dir(kb_dir: str | os.PathLike | None) -> Path:
    return Path(kb_dir) if kb_dir is not None else paths.shipped("knowledge")


def _check_dir(root: Path) -> None:
    if not root.is_dir():
        raise KnowledgeBaseError(f"The knowledge base directory {root} does not exist.")
    if not any((root / n).is_file() for n in FILES):
        raise KnowledgeBaseError(
            f"{root} is not a knowledge base: it has none of {', '.join(sorted(FILES))}.")


def load(kb_dir: str | os.PathLike | None = None) -> KnowledgeBase:
    """The compiled knowledge base: from the cache when it matches the files, else built and cached."""
    root = resolve_dir(kb_dir).resolve()
    _check_dir(root)
    return cache.cached("kb", [root / name for name in sorted(FILES)], lambda: build(root))


def build(root: Path) -> KnowledgeBase:
    """Validate and compile, without the cache. Raises KnowledgeBaseError listing every problem."""
    models, problems = validate(root)
    if problems:
        raise KnowledgeBaseError(
            f"The knowledge base in {root} has {len(problems)} problem(s); "
            f"run `credit-assistant kb check --kb {root}` to list them.", problems)
    kb = _to_plain(root, models)
    # Each stage precomputes its own derived data; imported here so they stay the owners of it.
    from . import extract, matcher, normalise, reader
    kb.derived["normalise"] = normalise.compile_lexicon(kb.lexicon)
    kb.derived["extract"] = extract.compile_extractors(kb)
    kb.derived["matcher"] = matcher.build_index(kb)
    weights = models.get("reader.json")
    kb.derived["reader"] = reader.compile_reader(
        {key: {"values": f.values, "bias": f.bias, "weights": f.weights} for key, f in weights.facts.items()}
    ) if weights else {}
    return kb


def _to_plain(root: Path, models: dict[str, Any]) -> KnowledgeBase:
    def entries(name: str, key: str = "id") -> dict[str, dict]:
        return {m[key]: m for m in (e.model_dump(mode="json") for e in models.get(name, []))}

    def one(name: str) -> dict:
        m = models.get(name)
        return m.model_dump(mode="json") if m is not None else {}

    return KnowledgeBase(
        root=str(root),
        topics=entries("topics.yaml"), causes=entries("causes.yaml"),
        remedies=entries("remedies.yaml"), impacts=entries("impacts.yaml"),
        lessons=entries("lessons.yaml"), facts=entries("facts.yaml", "key"),
        sources=entries("sources.yaml"), support=entries("support.yaml"),
        settings=one("settings.yaml"), lexicon=one("lexicon.yaml"), scope=one("scope.yaml"),
    )


# --------------------------------------------------------------------------- validation

def validate(root: Path) -> tuple[dict[str, Any], list[str]]:
    """Parse and validate every file; return the models and every problem found."""
    from pydantic import ValidationError

    from . import schema

    models_for = {
        "topics.yaml": schema.Topic, "causes.yaml": schema.Cause, "remedies.yaml": schema.Remedy,
        "impacts.yaml": schema.Impact, "lessons.yaml": schema.Lesson, "facts.yaml": schema.Fact,
        "sources.yaml": schema.Source, "support.yaml": schema.SupportContact,
        "settings.yaml": schema.Settings, "lexicon.yaml": schema.Lexicon, "scope.yaml": schema.Scope,
        "reader.json": schema.ReaderModel,
    }
    _check_dir(root)
    problems: list[str] = []
    models: dict[str, Any] = {}
    for name, (kind, required) in FILES.items():
        path = root / name
        if not path.is_file():
            if required:
                problems.append(f"{name}: (file): missing; a knowledge base needs it")
            continue
        data, err = _read_json(path) if kind == "json" else _read_yaml(path)
        if err:
            problems.append(f"{name}: {err}")
            continue
        model = models_for[name]
        if kind in ("one", "json"):
            if data is None:
                data = {}
            if not isinstance(data, dict):
                problems.append(f"{name}: (top): must be a mapping of settings, not a list")
                continue
            try:
                models[name] = model.model_validate(data)
            except ValidationError as exc:
                problems.extend(f"{name}: {p}" for p in _pydantic_problems(exc, ""))
            continue
        if data is None:
            data = []
        if not isinstance(data, list):
            problems.append(f"{name}: (top): must be a list of entries")
            continue
        good = []
        key = "key" if name == "facts.yaml" else "id"
        for i, item in enumerate(data):
            label = _entry_label(item, key, i)
            if not isinstance(item, dict):
                problems.append(f"{name}: {label}: must be a mapping with `{key}`")
                continue
            try:
                good.append(model.model_validate(item))
            except ValidationError as exc:
                problems.extend(f"{name}: {p}" for p in _pydantic_problems(exc, label))
        models[name] = good
    problems.extend(_cross_references(models))
    return models, problems


def _read_text(path: Path) -> tuple[str | None, str | None]:
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError:
        return None, "(file): is not UTF-8 text"
    except OSError as exc:
        return None, f"(file): cannot be read ({exc.strerror})"


def _read_json(path: Path) -> tuple[Any, str | None]:
    import json

    text, err = _read_text(path)
    if err:
        return None, err
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}, column {exc.colno}: JSON syntax error: {exc.msg}"


def _read_yaml(path: Path) -> tuple[Any, str | None]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text, err = _read_text(path)
    if err:
        return None, err
    try:
        return yaml.load(text, Loader=loader), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, f"{where}: YAML syntax error: {what}"


def _entry_label(item: Any, key: str, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]:
        return item[key]
    return f"[{index}]"


_UNION_TAGS = {"bool", "int", "str", "float", "list[union[bool,int,str]]"}


def _pydantic_problems(exc, prefix: str) -> list[str]:
    """pydantic errors as `PATH: message`, one per location (union alternatives folded)."""
    seen: dict[str, str] = {}
    for err in exc.errors():
        parts = [p for p in err["loc"] if not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p))]
        path = prefix
        for p in parts:
            path += f"[{p}]" if isinstance(p, int) else (f".{p}" if path else str(p))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (misspelt?)"
        if path in seen:
            if err["type"] in ("bool_parsing", "int_parsing", "string_type", "bool_type", "int_type"):
                seen[path] = "must be a name, a number or true/false"
            continue
        seen[path] = msg
    return [f"{path or '(top)'}: {msg}" for path, msg in seen.items()]


def _cross_references(models: dict[str, Any]) -> list[str]:
    """Every reference between entries, checked; each problem named by file and path."""
    problems: list[str] = []
    ids: dict[str, set] = {}
    for name in FILES:
        entries = models.get(name)
        if not isinstance(entries, list):
            continue
        key = "key" if name == "facts.yaml" else "id"
        seen: set = set()
        for e in entries:
            i = getattr(e, key)
            if i in seen:
                problems.append(f"{name}: {i}: duplicate {key} {i!r}")
            seen.add(i)
        ids[name] = seen

    facts = {f.key: f for f in models.get("facts.yaml", [])}

    def refs(file: str, where: str, field: str, values: list[str], target: str) -> None:
        if target not in ids:
            return  # the target file itself failed; its problems are reported already
        for i, v in enumerate(values):
            if v not in ids[target]:
                what = {"remedies.yaml": "remedy", "topics.yaml": "topic", "impacts.yaml": "impact",
                        "sources.yaml": "source"}.get(target, target)
                problems.append(f"{file}: {where}.{field}[{i}]: no {what} with id {v!r} in {target}")

    def condition(file: str, where: str, cond) -> None:
        fact = facts.get(cond.fact)
        if fact is None:
            if "facts.yaml" in ids:
                problems.append(f"{file}: {where}.fact: unknown fact {cond.fact!r} (see facts.yaml)")
            return
        if cond.at_least is not None or cond.below is not None:
            if fact.type != "int":
                problems.append(f"{file}: {where}: `at_least`/`below` need a number fact; {fact.key} is {fact.type}")
            return
        allowed = [v.id for v in fact.values]
        given = [cond.value] if cond.value is not None else list(cond.values or [])
        for v in given:
            if fact.type == "int":
                if not isinstance(v, int) or isinstance(v, bool):
                    problems.append(f"{file}: {where}.value: {v!r} is not a number for fact {fact.key}")
            elif not _same_value(v, allowed):
                problems.append(
                    f"{file}: {where}.value: {v!r} is not a value of fact {fact.key} "
                    f"(allowed: {', '.join(map(_show, allowed))})")

    for t in models.get("topics.yaml", []):
        refs("topics.yaml", t.id, "remedies", t.remedies, "remedies.yaml")
        refs("topics.yaml", t.id, "impacts", t.impacts, "impacts.yaml")
        refs("topics.yaml", t.id, "related", t.related, "topics.yaml")
        refs("topics.yaml", t.id, "sources", t.sources, "sources.yaml")
        for i, k in enumerate(t.asks):
            if "facts.yaml" in ids and k not in facts:
                problems.append(f"topics.yaml: {t.id}.asks[{i}]: unknown fact {k!r} (see facts.yaml)")
        if not t.examples.zh and not t.examples.en:
            problems.append(f"topics.yaml: {t.id}.examples: a topic needs example questions to be matched")
    problems.extend(_duplicate_examples(models))

    for c in models.get("causes.yaml", []):
        refs("causes.yaml", c.id, "remedies", c.remedies, "remedies.yaml")
        refs("causes.yaml", c.id, "sources", c.sources, "sources.yaml")
        for i, r in enumerate(c.rules):
            condition("causes.yaml", f"{c.id}.rules[{i}]", r)
    for r in models.get("remedies.yaml", []):
        refs("remedies.yaml", r.id, "sources", r.sources, "sources.yaml")
        for i, cond in enumerate(r.unless):
            condition("remedies.yaml", f"{r.id}.unless[{i}]", cond)
    for name in ("impacts.yaml", "lessons.yaml", "support.yaml"):
        for e in models.get(name, []):
            refs(name, e.id, "sources", e.sources, "sources.yaml")
    settings = models.get("settings.yaml")
    if settings is not None:
        refs("settings.yaml", "settings", "core_remedies", settings.core_remedies, "remedies.yaml")
        refs("settings.yaml", "settings", "showcase_topics", settings.showcase_topics, "topics.yaml")
        for key, topics in settings.statement_topics.items():
            if key not in facts:
                problems.append(f"settings.yaml: statement_topics.{key}: unknown fact {key!r}")
                continue
            allowed = [str(v.id) for v in facts[key].values]
            for value, topic in topics.items():
                if value not in allowed:
                    problems.append(f"settings.yaml: statement_topics.{key}.{value}: not a value of {key}")
            refs("settings.yaml", f"statement_topics.{key}", "topics", list(topics.values()), "topics.yaml")

    problems.extend(_reader_problems(models.get("reader.json"), facts))

    from .numbers import NUMBER_EN_PATTERN, NUMBER_PATTERN

    lexicon = models.get("lexicon.yaml")
    macros = {"NUM": NUMBER_PATTERN, "NUM_EN": NUMBER_EN_PATTERN,
              **(lexicon.macros if lexicon is not None else {})}
    for f in facts.values():
        problems.extend(_fact_problems(f, macros, facts))
        for j, k in enumerate(f.shadows):
            if k not in facts:
                problems.append(f"facts.yaml: {f.key}.shadows[{j}]: unknown fact {k!r}")
    if lexicon is not None:
        lists = {field: getattr(lexicon, field) for field in ("others", "self_words", "question_markers", "corrections", "joint", "contrast", "post_negators")}
        lists.update({f"hypothetical.{kind}": patterns for kind, patterns in lexicon.hypothetical.items()})
        lists.update({f"approximate.{side}": patterns for side, patterns in lexicon.approximate.items()})
        for path, patterns in lists.items():
            for i, p in enumerate(patterns):
                try:
                    rx = re.compile(p)
                except re.error as exc:
                    problems.append(f"lexicon.yaml: {path}[{i}]: not a valid regular expression: {exc}")
                    continue
                if path == "contrast" and "n" not in rx.groupindex:
                    problems.append(f"lexicon.yaml: contrast[{i}]: needs the named group n (the number)")
    return problems


def _reader_problems(model, facts: dict) -> list[str]:
    """The reader's facts and values must be the knowledge base's, its features the code's."""
    if model is None:
        return []
    from .reader import FEATURES_VERSION

    problems = []
    if model.features_version != FEATURES_VERSION:
        problems.append(f"reader.json: features_version: {model.features_version} is not the reader's "
                        f"{FEATURES_VERSION}; retrain it with `make reader`")
    for key, f in model.facts.items():
        fact = facts.get(key)
        if fact is None:
            if facts:
                problems.append(f"reader.json: facts.{key}: unknown fact {key!r} (see facts.yaml)")
            continue
        if fact.type == "int":
            problems.append(f"reader.json: facts.{key}: the reader reads named values; {key} is a number")
            continue
        allowed = [v.id for v in fact.values]
        for i, v in enumerate(f.values):
            if v is not None and not _same_value(v, allowed):
                problems.append(f"reader.json: facts.{key}.values[{i}]: {v!r} is not a value of fact {key} "
                                f"(allowed: {', '.join(map(_show, allowed))})")
    return problems


def _same_value(v, allowed: list) -> bool:
    # 1 == True in Python; a rule on a bool fact must say true/false, not 1/0.
    return any(v == a and type(v) is type(a) for a in allowed)


def _show(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def expand_macros(pattern: str, macros: dict[str, str], depth: int = 0) -> str:
    """Replace `{NAME}` with the lexicon's macro NAME (as a non-capturing group); a macro may
    use other macros."""
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in macros:
            raise KeyError(name)
        if depth > 4:
            raise KeyError(f"{name} (macros nested too deep, or in a circle)")
        return f"(?:{expand_macros(macros[name], macros, depth + 1)})"
    return re.sub(r"\{([A-Z][A-Z0-9_]*)\}", sub, pattern)


def _fact_problems(f, macros: dict[str, str], facts_by_key: dict) -> list[str]:
    problems: list[str] = []
    where = f"facts.yaml: {f.key}"
    allowed = [v.id for v in f.values]

    def compile_all(field: str, patterns: list[str], groups: set[str]) -> None:
        for i, p in enumerate(patterns):
            try:
                rx = re.compile(expand_macros(p, macros), re.ASCII)
            except KeyError as exc:
                problems.append(f"{where}.{field}[{i}]: unknown macro {{{exc.args[0]}}} (see lexicon.yaml macros)")
                continue
            except re.error as exc:
                problems.append(f"{where}.{field}[{i}]: not a valid regular expression: {exc}")
                continue
            missing = groups - set(rx.groupindex)
            if missing:
                problems.append(f"{where}.{field}[{i}]: needs the named group(s) {', '.join(sorted(missing))}")

    compile_all("form", f.form, set())
    for i, v in enumerate(f.values):
        compile_all(f"values[{i}].patterns", v.patterns, set())
        compile_all(f"values[{i}].presupposed", v.presupposed, set())
        compile_all(f"values[{i}].form", v.form, set())
        if v.form and not f.form:
            problems.append(f"{where}.values[{i}].form: the fact has no `form` field names to complete")
        if v.negated is not None and not _same_value(v.negated, allowed):
            problems.append(f"{where}.values[{i}].negated: {v.negated!r} is not a value of {f.key}")
        for j, k in enumerate(v.shadows):
            if k not in facts_by_key:
                problems.append(f"{where}.values[{i}].shadows[{j}]: unknown fact {k!r}")
    if f.type == "int":
        compile_all("patterns", f.patterns, {"n"})
    elif f.patterns:
        problems.append(f"{where}.patterns: only number facts have fact-level patterns; put them under values")
    for i, v in enumerate(f.precedence):
        if not _same_value(v, allowed):
            problems.append(f"{where}.precedence[{i}]: {v!r} is not a value of {f.key}")
    for i, pair in enumerate(f.contradictions):
        if len(pair) != 2 or not all(_same_value(v, allowed) for v in pair):
            problems.append(f"{where}.contradictions[{i}]: must be two values of {f.key}")
    if f.redirect and not f.own_subject:
        problems.append(f"{where}.redirect: needs `own_subject` to tell its own mentions apart")
    for field in ("own_subject", "theirs_words", "earlier"):     # single regular expressions
        if getattr(f, field):
            compile_all(field, [getattr(f, field)], set())
    if f.claimed_status is not None:
        compile_all("claimed_status.mention", [f.claimed_status.mention], set())
        for k, rx in f.claimed_status.values.items():
            if not _same_value(k, allowed):
                problems.append(f"{where}.claimed_status.values: {k!r} is not a value of {f.key}")
            compile_all(f"claimed_status.values.{k}", [rx], set())
    for i, r in enumerate(f.redirect):
        compile_all(f"redirect[{i}].subject", [r.subject], set())
        target = facts_by_key.get(r.fact)
        if target is None:
            problems.append(f"{where}.redirect[{i}].fact: unknown fact {r.fact!r}")
            continue
        target_values = [v.id for v in target.values]
        for k, v in r.values.items():
            if not _same_value(k, allowed):
                problems.append(f"{where}.redirect[{i}].values: {k!r} is not a value of {f.key}")
            if not _same_value(v, target_values):
                problems.append(f"{where}.redirect[{i}].values.{k}: {v!r} is not a value of {r.fact}")
    if f.amount_change is not None:
        ac = f.amount_change
        compile_all("amount_change.patterns", ac.patterns, {"from", "to"})
        for name in ("to_zero", "decrease", "increase"):
            v = getattr(ac, name)
            if v is not None and not _same_value(v, allowed):
                problems.append(f"{where}.amount_change.{name}: {v!r} is not a value of {f.key}")
    return problems


def _duplicate_examples(models: dict[str, Any]) -> list[str]:
    """An example question under two topics (or also out of scope) teaches the matcher nothing."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for t in models.get("topics.yaml", []):
        for lang in ("zh", "en"):
            for i, q in enumerate(getattr(t.examples, lang)):
                k = _example_key(q)
                if k in owner and owner[k] != t.id:
                    problems.append(f"topics.yaml: {t.id}.examples.{lang}[{i}]: {q!r} is also an example of {owner[k]}")
                elif k in owner:
                    problems.append(f"topics.yaml: {t.id}.examples.{lang}[{i}]: {q!r} is listed twice")
                owner.setdefault(k, t.id)
    scope = models.get("scope.yaml")
    if scope is not None:
        for lang in ("zh", "en"):
            for i, q in enumerate(getattr(scope.out_of_scope, lang)):
                k = _example_key(q)
                if k in owner:
                    problems.append(f"scope.yaml: out_of_scope.{lang}[{i}]: {q!r} is also an example of topic {owner[k]}")
    return problems


def _example_key(q: str) -> str:
    return re.sub(r"[\s\W_]+", "", q.casefold())
