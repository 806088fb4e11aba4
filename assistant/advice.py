"""The `Advice` model: what one answer is, as the contract's JSON describes it.

The pipeline builds advice as plain data (fast enough for the one-shot path, which never imports
pydantic); this model validates that data for Python callers, and `model_dump(mode="json")` gives
exactly what `ask --format json` prints.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

FactValue = Union[bool, int, float, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Alternative(_Model):
    topic: str
    confidence: float = Field(ge=0, le=1)


class Match(_Model):
    topic: Optional[str]
    confidence: float = Field(ge=0, le=1)
    abstained: bool
    alternatives: list[Alternative]
    # True when a short follow-up reply was answered in the topic of the turn before.
    from_context: bool = False


class FactWarning(_Model):
    code: str
    fact: Optional[str]
    message: str
    suggestion: Optional[FactValue] = None
    value: Optional[FactValue] = None


class Notice(_Model):
    code: str
    message: str
    fact: Optional[str] = None


class Contribution(_Model):
    fact: str
    value: FactValue
    points: int
    reason: str


class Cause(_Model):
    id: str
    title: str
    points: int
    band: str
    scope: Literal["indicated", "anyone"]
    contributions: list[Contribution]
    open_points: int = Field(ge=0)


class Remedy(_Model):
    id: str
    title: str
    steps: list[str]


class Impact(_Model):
    id: str
    title: str


class FollowUpOption(_Model):
    value: FactValue
    label: str


class FollowUp(_Model):
    fact: str
    question: str
    options: list[FollowUpOption] = []


class WhatIf(_Model):
    changes: dict[str, FactValue]
    causes_before: list[Cause]
    causes_after: list[Cause]


class Advice(_Model):
    version: Literal[1] = 1
    lang: Literal["zh", "en"]
    question: str
    match: Match
    facts: dict[str, FactValue]
    warnings: list[FactWarning]
    causes: list[Cause]
    remedies: list[Remedy]
    impacts: list[Impact] = []
    follow_up: list[FollowUp]
    notices: list[Notice] = []
    what_if: Optional[WhatIf] = None
    answer: str
