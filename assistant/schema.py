"""The knowledge base's schema as pydantic models.

Imported only when a knowledge base is validated (`kb check`, `kb list`, or a cache miss): the
one-shot path reads the already validated, compiled form from the cache and never pays for
building these models.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# A fact value: an enum id (str), a flag (bool) or a number (int). bool first: YAML `true` stays bool.
Scalar = Union[bool, int, str]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """One piece of text in both languages."""

    zh: NonEmpty
    en: NonEmpty


class TextList(Model):
    """Several pieces of text per language (examples, steps)."""

    zh: list[NonEmpty] = []
    en: list[NonEmpty] = []


class Condition(Model):
    """A test on one fact: equal to `value`, one of `values`, or within [`at_least`, `below`)."""

    fact: Id
    value: Scalar | None = None
    values: list[Scalar] | None = None
    at_least: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_form(self):
        forms = [self.value is not None, self.values is not None,
                 self.at_least is not None or self.below is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of `value`, `values`, or `at_least`/`below`")
        if self.values is not None and not self.values:
            raise ValueError("`values` must not be empty")
        return self


class Rule(Condition):
    """`fact condition → points, reason`: one traceable contribution to a cause."""

    points: int
    reason: Text

    @field_validator("points")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("a rule worth 0 points changes nothing; remove it or give it points")
        return v


class Source(Model):
    id: Id
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    title: NonEmpty
    seen: dt.date
    publisher: str | None = None
    note: Text | None = None


class Topic(Model):
    id: Id
    title: Text
    answer: Text
    examples: TextList
    # Words that point to this topic, with weights; matched on normalised text.
    keywords: dict[NonEmpty, float] = {}
    # Matched only when one of its keywords appears (greetings: "help" must not attract chit-chat).
    needs_keyword: bool = False
    # Does the topic concern a closure or a cut, so the answer ranks the causes?
    explains_causes: bool = False
    remedies: list[Id] = []
    impacts: list[Id] = []
    # Facts worth asking about on a topic that ranks no causes.
    asks: list[Id] = []
    related: list[Id] = []
    sources: list[Id] = []


class Cause(Model):
    id: Id
    title: Text
    explanation: Text
    # Why this can close a line whose holder was never late.
    never_overdue: Text
    # `anyone`: platform-side causes (policy, funding, re-evaluation), never the user's fault.
    scope: Literal["indicated", "anyone"]
    rules: list[Rule] = Field(min_length=1)
    remedies: list[Id] = Field(min_length=1)
    sources: list[Id] = Field(min_length=1)


class Remedy(Model):
    id: Id
    title: Text
    steps: TextList
    avoid: TextList = TextList()
    wait: Text | None = None
    # Skip this remedy when any of these holds (e.g. `build_activity` for someone already active).
    unless: list[Condition] = []
    sources: list[Id] = []

    @field_validator("steps")
    @classmethod
    def _has_steps(cls, v: TextList) -> TextList:
        if not v.zh or not v.en:
            raise ValueError("a remedy needs steps in both zh and en")
        return v


class Impact(Model):
    id: Id
    title: Text
    explanation: Text
    prepare: TextList = TextList()
    sources: list[Id] = []


class Lesson(Model):
    id: Id
    title: Text
    text: Text
    sources: list[Id] = []


class FactValue(Model):
    id: Scalar
    label: Text
    # Regular expressions on normalised text that state this value; {MACRO}s from the lexicon.
    patterns: list[NonEmpty] = []
    # The value a negated mention means (没有网贷 → `none`); without it a negated mention is ignored.
    negated: Scalar | None = None
    # Facts this mention speaks for instead: an overlapping mention of them is dropped
    # ("信用卡逾期" is a record at another lender, not the user's own 借呗 overdue).
    shadows: list[Id] = []
    # Short replies to this fact's follow-up question that mean this value ("没有", "no").
    replies: TextList = TextList()
    # Words that give this value after one of the fact's `form` fields ("逾期: 无", "Overdue: none").
    form: list[NonEmpty] = []
    # Patterns a question presupposes ("多久能恢复借呗" asks because the line is closed): read
    # even inside questions and if-clauses, though still not about someone else, and only when
    # nothing else states the fact ("降额了,多久能恢复" is a cut).
    presupposed: list[NonEmpty] = []


class ValidRange(Model):
    """Values a number may take; outside it the value is kept, flagged and never scored."""

    min: int
    max: int
    warning: Id
    message: Text
    # Try ×10 and ÷10 to suggest the likely intended value (63 → 630).
    suggest_scaled: bool = False


class AmountChange(Model):
    """Patterns with `from` and `to` amounts ("limit cut from 5万 to 5000") and what they mean."""

    patterns: list[NonEmpty] = Field(min_length=1)
    to_zero: Scalar
    decrease: Scalar
    increase: Scalar | None = None



class Redirect(Model):
    """A mention whose subject is something else ("花呗额度砍成0": 花呗, not 借呗) speaks for
    another fact: `values` maps this fact's value to that fact's; an unmapped value is dropped."""

    subject: NonEmpty           # regular expression naming the other subject
    fact: Id
    values: dict[str, Scalar]


class ClaimedStatus(Model):
    """When another fact claims a mention of this one ("信用卡逾期" is credit_report_negative), the
    mention still states this fact if its sentence says the status: "…已经还清了" → past."""

    mention: NonEmpty           # regular expression the claiming mention's text must contain
    values: dict[str, NonEmpty]  # value → regular expression for its status words


class Fact(Model):
    key: Id
    title: Text
    type: Literal["enum", "bool", "int"]
    values: list[FactValue] = []
    # For numbers: patterns with a named group `n`.
    patterns: list[NonEmpty] = []
    valid: ValidRange | None = None
    amount_change: AmountChange | None = None
    question: Text
    actionable: bool
    fixed_reason: Text | None = None
    # Field names people write as "FIELD: value" ("逾期", "overdue", "借呗状态"): regular
    # expressions; each value's `form` words complete them.
    form: list[NonEmpty] = []
    # Not read from a clause about someone else ("我儿子今年5岁").
    user_only: bool = True
    # Stated even inside a question ("芝麻分63算高吗" states a score); otherwise questions about
    # consequences ("提前还款会影响额度吗") state nothing. General questions ("如果…") never state.
    stated_in_questions: bool = False
    # The fact's own subject (借呗, limit): a mention that names it, or follows it more closely
    # than any `redirect` subject in its clause, stays with this fact.
    own_subject: NonEmpty | None = None
    redirect: list[Redirect] = []
    claimed_status: ClaimedStatus | None = None
    # For number facts: words naming the fact. Said of someone else without a number we read
    # ("我老婆芝麻分800多"), they too make the user's own number after them count ("我才620").
    theirs_words: NonEmpty | None = None
    # Words before a mention, in its clause, that put it in the past ("之前", "used to"): such a
    # mention gives way to one of the same fact that is not so marked ("又能用了,之前关了三个月").
    earlier: NonEmpty | None = None
    # For number facts: facts an overlapping number mention speaks for instead
    # ("芝麻分降到了六百四" is about the score, not the limit).
    shadows: list[Id] = []
    # When one message states several values: the first listed wins…
    precedence: list[Scalar] = []
    # …unless the pair is listed here, which is a contradiction to ask about.
    contradictions: list[list[Scalar]] = []


    @model_validator(mode="after")
    def _shape(self):
        if self.type == "int":
            if self.values:
                raise ValueError("a number fact has no `values`; give `valid` and `patterns`")
            if self.valid is None:
                raise ValueError("a number fact needs `valid` (min, max, warning, message)")
        else:
            if not self.values:
                raise ValueError(f"a {self.type} fact needs `values`")
            ids = [v.id for v in self.values]
            if self.type == "bool" and sorted(ids) != [False, True]:
                raise ValueError("a bool fact has exactly the values true and false")
            if self.type == "enum" and not all(isinstance(i, str) for i in ids):
                raise ValueError("enum values must be names, not numbers or booleans")
            if len(set(ids)) != len(ids):
                raise ValueError("a value is listed twice")
        if not self.actionable and self.fixed_reason is None:
            raise ValueError("a fact that is not actionable needs `fixed_reason` (shown when a what-if is refused)")
        return self


class SupportContact(Model):
    id: Id
    label: Text
    value: NonEmpty
    note: Text | None = None
    # False: commonly cited, not confirmed by our sources; shown as such.
    confirmed: bool = True
    sources: list[Id] = []


class Band(Model):
    id: Id
    min_points: int
    label: Text


class MatcherSettings(Model):
    """Weights and thresholds of the topic matcher (see assistant/matcher.py)."""

    weight_nearest: float = Field(1.0, ge=0)
    weight_centroid: float = Field(0.5, ge=0)
    weight_bayes: float = Field(0.5, ge=0)
    weight_keywords: float = Field(0.5, ge=0)
    weight_fuzzy: float = Field(0.3, ge=0)
    keyword_scale: float = Field(3.0, gt=0)
    bayes_temperature: float = Field(1.0, gt=0)
    top_examples: int = Field(3, ge=1)
    abstain_below: float = Field(0.3, ge=0, le=1)
    # Out of scope when its score reaches this share of the best topic's.
    oos_ratio: float = Field(1.0, gt=0)
    # Topic scores are multiplied by this when the question has no domain term…
    outside_domain: float = Field(1.0, ge=0, le=1)
    # …and out-of-scope's by this when it has one…
    inside_domain: float = Field(1.0, ge=0, le=1)
    # …and a `needs_keyword` topic's by this when none of its keywords appears.
    missing_keyword: float = Field(1.0, ge=0, le=1)
    margin: float = Field(0.03, ge=0, le=1)
    alternatives: int = Field(3, ge=1, le=10)
    # An abstention's answer offers only alternatives at least this confident as "did you mean";
    # below it, the question is likely unrelated and the answer shows what the assistant covers.
    suggest_above: float = Field(0.1, ge=0, le=1)


class ReaderSettings(Model):
    """When the learned reader (assistant/reader.py) may add a fact the patterns did not read."""

    # A value is taken only when the reader gives it at least this probability.
    threshold: float = Field(0.95, gt=0.5, le=1)


class Settings(Model):
    bands: list[Band] = Field(min_length=1)
    principal_reasons: int = Field(4, ge=1, le=10)
    follow_ups: int = Field(3, ge=0, le=10)
    input_limit: int = Field(4000, ge=100)
    # Remedies every closure answer starts with, in order, before those the causes call for.
    core_remedies: list[Id] = []
    # At most this many next steps per answer; the terminal text shows the first few in full.
    max_remedies: int = Field(6, ge=1, le=20)
    remedies_in_full: int = Field(3, ge=1, le=20)
    # At most this many unknown facts listed as "still unknown" (those that matter most first).
    unknown_listed: int = Field(5, ge=1, le=30)
    # Topics shown as examples of what the assistant covers when a question is out of scope.
    showcase_topics: list[Id] = []
    # A message that only states facts (no question) and states one of these fact values is
    # after the analysis of that situation: the topic is preferred when the matcher ranks it
    # among its top three ("额度从5万降到5000,征信查询很多" → limit_reduced).
    statement_topics: dict[Id, dict[str, Id]] = {}
    matcher: MatcherSettings = MatcherSettings()
    reader: ReaderSettings = ReaderSettings()

    @field_validator("bands")
    @classmethod
    def _descending(cls, v: list[Band]) -> list[Band]:
        mins = [b.min_points for b in v]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands must be listed from the highest `min_points` down, each different")
        return v


class Lexicon(Model):
    """Words the normaliser and the extractor need."""

    # canonical form → variants (借呗: [借贝, 借唄, jiebei]); replaced longest first.
    variants: dict[NonEmpty, list[NonEmpty]] = {}
    # traditional → simplified, one character each.
    traditional: dict[NonEmpty, NonEmpty] = {}
    # Real English words a letter away from a domain word ("store" is not "score").
    spelling_keep: list[NonEmpty] = []
    # English words typed inside Chinese ("被cut了", "还fine") → the Chinese word they stand for;
    # replaced only when written right against a Chinese character.
    mixed_words: dict[NonEmpty, NonEmpty] = {}
    # English domain words whose near misspellings (one or two letters) are corrected.
    spelling: list[NonEmpty] = []
    # Words that negate the phrase right after them.
    negators: list[NonEmpty] = []
    # What, right after a phrase, denies it ("提前还款从来没有", "逾期次数: 0"): regular expressions.
    post_negators: list[NonEmpty] = []
    # Words that start with a negator but negate nothing (不好, 不少, 不过, 没想到).
    negation_exceptions: list[NonEmpty] = []
    # How far (in characters) a negator may stand before what it negates.
    negation_gap: int = Field(4, ge=0, le=20)
    # English helper words that do not count towards the gap ("never been late", "not once had").
    negation_transparent: list[NonEmpty] = []
    # Words a phrase can start with that name its own subject (支付宝, 借呗): a negator before such a
    # phrase with other words between negates those words, not the phrase ("没网贷支付宝天天用").
    negation_subjects: list[NonEmpty] = []
    # Words that end a negation's reach (但是, but …).
    negation_breakers: list[NonEmpty] = []
    # People other than the user (regular expressions); a `user_only` fact is not read from a
    # clause that names one of them before the mention.
    others: list[NonEmpty] = []
    # The user (regular expressions): named after another person, the clause is the user's again.
    self_words: list[NonEmpty] = []
    # Regular expressions matching the text just before a person from `others` that makes the
    # clause the user's too ("我和老公", "我跟我对象").
    joint: list[NonEmpty] = []
    # After someone else's number ("我老婆芝麻分800"), the user giving their own ("我才620",
    # "I have 740"): regular expressions with a named group `n`.
    contrast: list[NonEmpty] = []
    # Regular expressions that make a mention a general or conditional question, not a
    # statement: `always` ("如果", "什么是"), `unless_done` ("会…吗") unless it happened: the
    # mention or the two characters after it match `done` ("了", "过"), or the words just before
    # it match `done_before` ("was", "got"); `before`: only when in the clause before the mention
    # ("不知道是不是因为逾期", but not "借呗还能借,就是不知道能借多少").
    # `then`: what, right after a done mention, asks about its consequence ("逾期了会…吗"), which
    # stays a question unless a self word comes before or `now` anchors it in time.
    # `general`: what makes a question that presupposes a fact (`presupposed`) a general one
    # ("一般多久能恢复", "usually", "关闭后多久"), as `always` and `before` words do too.
    hypothetical: dict[Literal["always", "before", "unless_done", "done", "done_before", "then", "now", "general"],
                       list[NonEmpty]] = {}
    # Regular expressions that take back what was just said ("不对", "wait no", "jk"): of two
    # mentions of one fact on either side of one, the later stands; a bare number right after one
    # restates the number fact just before it ("芝麻分720,哦不对,是702").
    corrections: list[NonEmpty] = []
    # Regular expressions that make a number approximate ("700以上", "大概700", "over 700"), so no
    # number fact is read from it: `before` must end right before the number, `after` start
    # right after it.
    approximate: dict[Literal["before", "after"], list[NonEmpty]] = {}
    # Regular expressions that make a message a question. A message that only states facts,
    # after a closure question, adds them to that analysis instead of starting a new topic.
    question_markers: list[NonEmpty] = []
    # Named sub-patterns usable in fact patterns as {NAME}.
    macros: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")], NonEmpty] = {}

    @field_validator("traditional")
    @classmethod
    def _single_chars(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k, s in v.items() if len(k) != 1 or len(s) != 1]
        if bad:
            raise ValueError(f"map single characters only; not: {', '.join(bad)}")
        return v


class Scope(Model):
    """What the assistant does not cover: examples of out-of-scope questions the matcher learns from."""

    out_of_scope: TextList
    # Words of the assistant's subject (借呗, 额度, 征信, loan …). A question with none of them is
    # probably out of scope: topic scores are scaled by the matcher's `outside_domain`.
    domain_terms: list[NonEmpty] = []


class ReaderFact(Model):
    """One fact's model in reader.json: per value (null = not stated), a bias and a weight per feature."""

    values: list[Union[bool, str, None]] = Field(min_length=2)
    bias: list[float]
    weights: dict[str, list[float]]

    @model_validator(mode="after")
    def _shapes(self):
        n = len(self.values)
        if None not in self.values:
            raise ValueError("values must include null (the fact not stated)")
        if len(self.bias) != n:
            raise ValueError(f"bias has {len(self.bias)} numbers for {n} values")
        bad = next((f for f, w in self.weights.items() if len(w) != n), None)
        if bad is not None:
            raise ValueError(f"weights[{bad!r}] has {len(self.weights[bad])} numbers for {n} values")
        return self


class ReaderModel(Model):
    """reader.json: the learned reader's weights, written by tools/train_reader.py."""

    about: str = ""
    features_version: int
    trained_on: dict = {}
    training: dict = {}
    facts: dict[str, ReaderFact]
