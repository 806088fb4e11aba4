"""Reading numbers as people write them: 630, 六百三, 六百五十八, 6百5, 六五零, 5万, 3千, 2w, 5k."""

from __future__ import annotations

import math
import re

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DIGITS.update({str(i): i for i in range(10)})
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "w": 10_000, "亿": 100_000_000}
_SUFFIX = {"k": 1000}

# A number as written, in digits or Chinese numerals; atomic, so 七百多 cannot backtrack to 七.
NUMBER_PATTERN = (r"(?>[0-9]+(?:\.[0-9]+)?(?:[百千万][0-9零〇一二两三四五六七八九十]*)?"
                  r"|[零〇○一幺二两三四五六七八九十百千万亿]+)")


_EN_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_EN_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_EN_SMALL = "|".join(sorted([*_EN_UNITS, *_EN_TENS], key=len, reverse=True))
# English number words worth reading: "seven hundred and forty", "thirty-five" (a lone "one" is not).
_EN_DIGIT = "one|two|three|four|five|six|seven|eight|nine"
_EN_TEENS_TENS = "|".join(w for w in [*_EN_UNITS, *_EN_TENS] if (_EN_UNITS.get(w) or _EN_TENS.get(w, 0)) >= 10)
NUMBER_EN_PATTERN = (rf"(?:(?:{_EN_SMALL})[ -]hundred(?:[ -](?:and[ -])?(?:{_EN_SMALL})(?:[ -](?:{_EN_SMALL}))?)?"
                     # "six fifty" = 650, as scores are said aloud
                     rf"|(?:{_EN_DIGIT})[ -](?:{_EN_TEENS_TENS})(?:[ -](?:{_EN_DIGIT}))?"
                     rf"|(?:{'|'.join(_EN_TENS)})(?:[ -](?:{'|'.join(w for w in _EN_UNITS if w != 'zero')}))?"
                     # "nineteen": the teens on their own (a lone unit word is too often not a number)
                     rf"|(?:{'|'.join(w for w in _EN_UNITS if 13 <= _EN_UNITS[w] <= 19)})\b)")


def _parse_english(s: str) -> float | None:
    words = [w for w in s.replace("-", " ").split() if w != "and"]
    # "six fifty" → 650: a digit word straight before a tens or teens word counts in hundreds
    if len(words) >= 2 and 1 <= _EN_UNITS.get(words[0], 0) <= 9 and (
            _EN_TENS.get(words[1]) or 10 <= _EN_UNITS.get(words[1], 0) <= 19):
        rest = _parse_english(" ".join(words[1:]))
        return None if rest is None else 100 * _EN_UNITS[words[0]] + rest
    total = 0
    current = 0
    for word in words:
        if word == "and":
            continue
        if word in _EN_UNITS:
            current += _EN_UNITS[word]
        elif word in _EN_TENS:
            current += _EN_TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            return None
    return float(total + current)


def parse_number(text: str) -> float | None:
    """The value of a number written in digits, Chinese numerals or a mix; None if unreadable
    (or too large to be a number anyone means: infinite or not a number)."""
    try:
        value = _parse_number(text)
    except OverflowError:         # hundreds of digits
        return None
    return value if value is None or math.isfinite(value) else None


def _parse_number(text: str) -> float | None:
    s = text.strip().casefold().replace(",", "")
    if not s:
        return None
    multiplier = 1
    if s[-1] in _SUFFIX and len(s) > 1:
        multiplier, s = _SUFFIX[s[-1]], s[:-1]
    elif s[-1] in ("w",) and len(s) > 1:
        multiplier, s = _BIG["w"], s[:-1]
    try:
        return float(s) * multiplier
    except ValueError:
        pass
    if s[0].isascii() and s[0].isalpha():
        return _parse_english(s)
    value = _parse_chinese(s)
    return None if value is None else value * multiplier


def _parse_chinese(s: str) -> float | None:
    if not s or any(ch not in _DIGITS and ch not in _UNITS and ch not in _BIG and ch != "." for ch in s):
        return None
    # A plain digit sequence read one by one: 六五零 → 650, 6五0 → 650.
    if all(ch in _DIGITS for ch in s):
        return float(int("".join(str(_DIGITS[ch]) for ch in s)))
    if re.search(r"[一二两三四五六七八九]{2}[十百千万]", s):
        return None      # 六七百, 三四万: a range, not a number
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([万亿千百十])", s)  # 1.5万, 5千
    if m:
        return float(m.group(1)) * {**_UNITS, **_BIG}[m.group(2)]
    total = 0.0
    section = 0.0        # the part below 万
    digit: float | None = None
    last_scale = 0       # the unit or 万/亿 seen last, for a trailing digit
    digits = 0           # how many digits make up `digit` (7百20: 20 is two)
    for i, ch in enumerate(s):
        if ch in _DIGITS:
            if ch.isascii() and digits and s[i - 1].isascii():
                digit, digits = digit * 10 + _DIGITS[ch], digits + 1
            else:
                digit, digits = _DIGITS[ch], 1
            continue
        digits = 0
        if ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit, last_scale = None, _UNITS[ch]
        elif ch in _BIG:
            section += digit or 0
            total += (section or 1) * _BIG[ch]
            section, digit, last_scale = 0.0, None, _BIG[ch]
        else:
            return None
    if digit is not None:
        # 六百五 → 650, 三千五 → 3500, 一万五 → 15000: a trailing digit counts in the next unit
        # down, unless a 零 stands before it (六百零五 → 605).
        if digits >= 2:                # 7百20 → 720: written out in full
            section += digit
        elif last_scale >= 100 and len(s) >= 2 and s[-2] not in "零〇○":
            section += digit * last_scale / 10
        else:
            section += digit
    return total + section
