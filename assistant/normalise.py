"""Stage 1: normalise the question so later stages see one spelling of everything.

Full/half width, case, spacing and punctuation; traditional → simplified for the characters the
lexicon lists; variant names (借贝, 借唄, jiebei …) to one canonical form; masked numbers
(`138****1234`, `额度***`) and phone, ID-card and bank-card numbers to a placeholder that no
number pattern can read.
The words come from the knowledge base's lexicon; this module holds only the mechanism.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .numbers import parse_number
from .redact import mask

# Control characters, zero-width and bidirectional marks, BOM: invisible, never meaningful here.
# Lone surrogates (undecodable bytes in argv or a terminal) too: no UTF-8 file could hold them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufe00-\ufe0f"
    "\ud800-\udfff]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# Masked digits: 138****1234, ***, 尾号xx12. Replaced by MASK so they never read as a score or age.
_MASKED = re.compile(r"\d*\*{2,}\d*|\d+[xX]{2,}\d*")
MASK = "▒"
_SPACES = re.compile(r"\s+")
# Punctuation that NFKC leaves full width, mapped to ASCII so patterns need only one form.
_PUNCT = str.maketrans({"。": ".", "、": ",", "〜": "~", "～": "~", "「": '"', "」": '"',
                        "『": '"', "』": '"', "【": "[", "】": "]", "《": '"', "》": '"',
                        "“": '"', "”": '"', "‘": "'", "’": "'", "…": "...", "—": "-"})
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Normalised:
    original: str      # what the user wrote, cleaned of invisible characters, length-limited
    text: str          # normalised form the later stages read
    lang: str          # "zh" or "en", detected from the original
    truncated: bool    # the input was longer than the limit


def compile_lexicon(lexicon: dict) -> dict:
    """Precompute the normaliser's tables from the lexicon (cached with the knowledge base)."""
    variants: dict[str, str] = {}
    for canonical, forms in lexicon.get("variants", {}).items():
        for form in forms:
            variants[form.casefold()] = canonical
    pattern = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    mixed = {w.casefold(): zh for w, zh in lexicon.get("mixed_words", {}).items()}
    words = "|".join(re.escape(w) for w in sorted(mixed, key=len, reverse=True))
    spelling = sorted({w.casefold() for w in lexicon.get("spelling", [])})
    return {
        "mixed": mixed,
        # an English word written right against a Chinese character, on either side ("被cut了")
        "mixed_pattern": (re.compile(rf"(?<=[\u4e00-\u9fff])(?:{words})(?![a-z])|(?<![a-z])(?:{words})(?=[\u4e00-\u9fff])")
                          if words else None),
        "traditional": str.maketrans(lexicon.get("traditional", {})),
        "variants": variants,
        "variants_pattern": re.compile(pattern) if pattern else None,
        "spelling": spelling,
        # words left as they are: the domain words, and real English words one letter from one
        # (store/score), never "corrected"
        "spelling_known": frozenset(spelling) | {w.casefold() for w in lexicon.get("spelling_keep", [])},
    }


_ENGLISH_WORD = re.compile(r"[a-z]{4,}")


def _inflection(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and long[len(short):] in ("d", "s", "r")


def _correct_spelling(text: str, words: list[str], known: frozenset) -> str:
    """Domain words misspelt by a letter or two (sesmae, jeibei, scor) to their spelling: only
    words of four letters or more, with the same first letter and length within one."""
    from rapidfuzz import fuzz, process

    def fix(m: re.Match) -> str:
        word = m.group(0)
        if word in known:
            return word
        # another form of the word is a real word, not a typo (close/closed, credits/credit)
        near = [w for w in words if w[0] == word[0] and abs(len(w) - len(word)) <= 1
                and not _inflection(word, w)]
        best = process.extractOne(word, near, scorer=fuzz.ratio, score_cutoff=80) if near else None
        return best[0] if best else word
    return _ENGLISH_WORD.sub(fix, text)


def detect_language(text: str) -> str:
    """`zh` when the text has Chinese characters and not clearly more English words; else `en`."""
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return "en" if _LATIN_WORD.search(text) else "zh"
    words = len(_LATIN_WORD.findall(text))
    return "en" if words > cjk else "zh"


def clean(text: str) -> str:
    """Remove escape sequences and invisible characters; keep what the user meant to write."""
    return _INVISIBLE.sub("", _ANSI.sub("", text))


# A number typed digit by digit ("7 2 8"): three or four single digits one space apart.
_SPACED_DIGITS = re.compile(r"(?<![0-9.])[0-9](?: [0-9]){2,3}(?![0-9]|\.[0-9])")
# A currency sign before an amount ("¥0") says nothing the amount does not.
_CURRENCY = re.compile(r"[¥￥$](?=\s*[0-9])")
# A tilde between numbers is a range ("705~710"), written the way every pattern knows one.
_TILDE_RANGE = re.compile(r"(?<=[0-9])\s*~\s*(?=[0-9])")
# An arrow between values says what one became ("芝麻分 701→672", "score 655 -> 610", "limit
# 15000 -> 6000"): written as a change every pattern knows.
_ARROW = re.compile(r"(?P<left>[0-9]+(?:[kw](?![a-z]))?)?\s*(?:→|->|=>|⇒|➡|➔)\s*(?=[0-9一二两三四五六七八九零])")
# A number read out digit by digit in Chinese ("六八零"): the digits, unless it counts up (五六七).
_HAN_DIGITS = re.compile(r"(?<![零〇一二两三四五六七八九十百千万])[三四五六七八九][零〇一二三四五六七八九]{2}(?![零〇一二两三四五六七八九十百千万个次家天岁块元号])")
# Zeros typed as the letter o ("7oo").
_LETTER_ZEROS = re.compile(r"\b([1-9])(oo|o0|0o)\b")
# A Chinese full stop is never a decimal point ("芝麻分689。26岁").
_STOP_BEFORE_DIGIT = re.compile(r"。(?=\s*[0-9０-９])")
# A plus between Chinese phrases lists them ("降额+花呗关闭"): a comma.
_PLUS_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff])\s*\+\s*(?=[\u4e00-\u9fff])")
# "7 hundred and 20": digits and an English word mixed, read as the number they make; "7 hundred
# something" is an approximation, written the way every pattern knows one ("七百多").
_DIGIT_HUNDRED = re.compile(r"\b([1-9]) hundred(?:(?: and| n| &)? ([1-9][0-9]?)\b(?! thousand)| ?(something|odd|plus|-?ish)\b)")
# Chinese typed one character or one short word at a time with spaces between ("我 每 天 都 用 支 付
# 宝", "借呗 额度 降 了"): the spaces split words, not clauses.
_SPACED_HAN = re.compile(r"(?<![\u4e00-\u9fff] )(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{1,3}(?: [\u4e00-\u9fff]{1,3}){2,}(?![\u4e00-\u9fff])")


def _arrow(m: re.Match) -> str:
    """"701→672" → "701变成672" in Chinese text; in English "655, now 610" for a score and
    "from 15000 to 6000" for an amount."""
    left = m.group("left") or ""
    if re.search(r"[\u4e00-\u9fff]", m.string[max(0, m.start() - 12):m.end()]):
        return left + "变成"
    if re.fullmatch(r"[0-9]{4,}|[0-9]+[kw]", left):
        return f"from {left} to "
    return left + ", now "


def _han_digits(m: re.Match) -> str:
    """"六八零" → "680"; "五六七" counts up (a range of three) and stays as it is."""
    digits = str(int(parse_number(m.group(0))))
    if int(digits[1]) == int(digits[0]) + 1 and int(digits[2]) == int(digits[1]) + 1:
        return m.group(0)
    return digits


def _hundred(m: re.Match) -> str:
    """"7 hundred and 20" → "720"; "7 hundred something" → "七百多"."""
    if m.group(3):
        return "一二三四五六七八九"[int(m.group(1)) - 1] + "百多"
    return str(int(m.group(1)) * 100 + int(m.group(2)))


def normalise(question: str, tables: dict, limit: int) -> Normalised:
    original = clean(question)
    truncated = len(original) > limit
    if truncated:
        original = original[:limit]
    lang = detect_language(original)
    text = unicodedata.normalize("NFKC", _STOP_BEFORE_DIGIT.sub(". ", original)).translate(_PUNCT)
    text = text.casefold().translate(tables["traditional"])
    text = mask(text, MASK)       # phone, ID-card and bank-card numbers are never read as facts
    text = _MASKED.sub(MASK, text)
    if tables.get("spelling"):
        text = _correct_spelling(text, tables["spelling"], tables["spelling_known"])
    if tables["variants_pattern"]:
        variants = tables["variants"]
        text = tables["variants_pattern"].sub(lambda m: variants[m.group(0)], text)
    if tables["mixed_pattern"]:
        mixed = tables["mixed"]
        text = tables["mixed_pattern"].sub(lambda m: mixed[m.group(0)], text)
    text = _SPACES.sub(" ", text).strip()
    text = _PLUS_BETWEEN_HAN.sub(",", text)
    text = _CURRENCY.sub("", text)
    text = _ARROW.sub(_arrow, text)
    text = _HAN_DIGITS.sub(_han_digits, text)
    text = _LETTER_ZEROS.sub(lambda m: m.group(1) + "00", text)
    text = _TILDE_RANGE.sub("-", text)
    text = _SPACED_DIGITS.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _DIGIT_HUNDRED.sub(_hundred, text)
    text = _SPACED_HAN.sub(lambda m: m.group(0).replace(" ", ""), text)
    return Normalised(original=original, text=text, lang=lang, truncated=truncated)
