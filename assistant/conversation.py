"""A conversation: facts accumulate across turns, later statements override earlier ones (and the
answer says so), short replies answer the last follow-up question, facts can be set or removed."""

from __future__ import annotations

from .core import Context


class Conversation:
    def __init__(self, assistant, lang: str = "auto"):
        self.assistant = assistant
        self.lang = lang
        self.history: list = []          # Advice, oldest first
        self._facts: dict = {}
        self._questions: list[str] = []

    @property
    def facts(self) -> dict:
        """The facts so far (a copy: change them with `set_fact` and `forget`)."""
        return dict(self._facts)

    @property
    def last(self):
        return self.history[-1] if self.history else None

    def _context(self) -> Context:
        last = self.last
        expecting = last.follow_up[0].fact if last is not None and last.follow_up else None
        return Context(known=dict(self._facts), topic=last.match.topic if last is not None else None,
                       expecting=expecting)

    def send(self, text: str, what_if: dict | None = None, all_causes: bool = False):
        """Answer one message in the light of the turns before it."""
        from .advice import Advice

        data = self.assistant.advise(text, lang=self.lang, what_if=what_if, context=self._context(),
                                     all_causes=all_causes)
        advice = Advice.model_validate(data)
        self._facts = dict(data["facts"])
        self._questions.append(text)
        self.history.append(advice)
        return advice

    def set_fact(self, key: str, value) -> None:
        """State a fact directly (a quick reply, `/set`); checked against the knowledge base."""
        self._facts.update(self.assistant.check_facts({key: value}))

    def forget(self, key: str) -> bool:
        """Remove a fact; True if it was known."""
        return self._facts.pop(key, None) is not None

    def reanswer(self, what_if: dict | None = None, all_causes: bool = False):
        """Answer the last question again with the facts as they are now (after set/forget)."""
        if not self._questions:
            return None
        from .advice import Advice

        context = self._context()
        context.expecting, context.read_facts = None, False   # the facts as set, not re-read
        data = self.assistant.advise(self._questions[-1], lang=self.lang, what_if=what_if,
                                     context=context, all_causes=all_causes)
        advice = Advice.model_validate(data)
        self._facts = dict(data["facts"])
        self.history.append(advice)
        return advice

    def reset(self) -> None:
        self.history.clear()
        self._facts.clear()
        self._questions.clear()

    # ------------------------------------------------------------------ saving and resuming

    def state(self) -> dict:
        """Everything needed to continue this conversation later, as JSON-ready data."""
        return {"lang": self.lang, "facts": dict(self._facts), "questions": list(self._questions),
                "history": [a.model_dump(mode="json") for a in self.history]}

    @classmethod
    def from_state(cls, assistant, state: dict) -> "Conversation":
        """A conversation continued from `state()`. Facts or answers the knowledge base or the
        Advice model no longer accept are dropped, so an old save never stops a resume."""
        from pydantic import ValidationError

        from .advice import Advice

        lang = state.get("lang", "auto")
        conv = cls(assistant, lang=lang if lang in ("auto", "zh", "en") else "auto")
        for key, value in (state.get("facts") or {}).items():
            try:
                conv._facts.update(assistant.check_facts({key: value}))
            except ValueError:
                pass
        conv._questions = [q for q in state.get("questions") or [] if isinstance(q, str)]
        for data in state.get("history") or []:
            try:
                conv.history.append(Advice.model_validate(data))
            except ValidationError:
                pass
        return conv
