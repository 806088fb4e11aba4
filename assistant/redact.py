"""Privacy: phone, ID-card and bank-card numbers never leave the user's question.

Redaction runs first, on the question itself, so nothing downstream (advice JSON, exports, saved
conversations, batch output) can carry these numbers.
"""

from __future__ import annotations

import re

# Full-width digits read as digits, so １３８… is caught like 138….
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")

_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
# 15 digits and more, grouped or not: bank cards (16–19) and old 15-digit ID numbers.
_LONG_NUMBER = re.compile(r"(?<![0-9])\d(?:[ -]?\d){14,22}(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9])")

PLACEHOLDERS = {
    "zh": {"id": "[身份证号已隐去]", "card": "[卡号已隐去]", "phone": "[手机号已隐去]"},
    "en": {"id": "[ID number removed]", "card": "[card number removed]", "phone": "[phone number removed]"},
}


def redact(text: str, lang: str = "zh") -> str:
    """`text` with phone, ID-card and bank-card numbers replaced by a placeholder."""
    words = PLACEHOLDERS.get(lang, PLACEHOLDERS["zh"])
    return _replace(text, words["id"], words["card"], words["phone"])


def mask(text: str, placeholder: str) -> str:
    """`text` with every phone, ID-card and bank-card number replaced by `placeholder`: what the
    stages that read the question (facts, matching) see, so no such number becomes a fact."""
    return _replace(text, placeholder, placeholder, placeholder)


def _replace(text: str, id_card: str, card: str, phone: str) -> str:
    if not any(ch.isdigit() for ch in text):
        return text
    text = text.translate(_FULLWIDTH_DIGITS)
    text = _ID_CARD.sub(id_card, text)
    text = _LONG_NUMBER.sub(card, text)
    text = _PHONE.sub(phone, text)
    return text
