"""Numbers in text: digits and number words, with the dates and period names left out.

The verifier checks that every number in a claim is grounded, and the drafters read a
delivered value out of a customer's sentence. Both need the same reading of "1,320 hours",
"$54,000", "12%", "10k", "2.5x", "six days" or "two hundred", and both must not mistake
"2026-06-12", "June 12", "Q2 2026" or "10:00" for a quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from clerk.domain.format import SYMBOL_CURRENCIES

__all__ = ["NumberMention", "numbers_in"]


@dataclass(frozen=True)
class NumberMention:
    """One number found in a text.

    ``start``/``end`` index the text, ``text`` is what was written ("1,320", "six", "$54k"),
    ``unit`` is "%" for percentages, "x" for multiples, an ISO code for a currency symbol,
    else the lower-cased word right after the number ("days" in "six days"), if any.
    ``step`` is the place value of the last digit shown (1 for "1,320", 0.01 for "4.85",
    1000 for "10k"): a claim rounded to that place still states the same value.
    """

    value: float
    start: int
    end: int
    text: str
    unit: str | None = None
    step: float = 1.0


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_YEAR = r"(?:19|20)\d{2}"
_ORD = r"(?:st|nd|rd|th)?"
# Spans that hold digits but no quantity: dates, times, period names, versions, ordinals.
_NOT_QUANTITIES = re.compile(
    "|".join(
        [
            rf"\b{_YEAR}-\d{{1,2}}(?:-\d{{1,2}})?"
            r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?",
            r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?",
            r"\b\d{1,2}\s?[ap]\.?m\.?(?![a-z])",
            rf"\b{_MONTHS}\s+\d{{1,2}}{_ORD}\b(?:,?\s+{_YEAR}\b)?",
            rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTHS}(?:,?\s+{_YEAR}\b)?",
            rf"\b{_MONTHS},?\s+{_YEAR}\b",
            rf"\b(?:Q[1-4]|H[12])\s*(?:FY\s?)?'?(?:{_YEAR}|\d{{2}})\b",
            rf"\b{_YEAR}\s*(?:Q[1-4]|H[12])\b",
            rf"\bFY\s?'?(?:{_YEAR}|\d{{2}})\b",
            rf"\b{_YEAR}\s*[-–]\s*(?:{_YEAR}|\d{{2}})\b",
            # A bare year after a word that introduces a time: "in 2026", "since 2025".
            r"(?i:\b(?:in|since|during|until|till|by|before|after|through|throughout|from"
            rf"|of|for|year|fiscal|calendar|early|late|mid|end)\s+){_YEAR}\b(?!\s*%)(?![-–/]\d)",
            r"\bv?\d+(?:\.\d+){2,}\b",
            r"\bv\d+(?:\.\d+)?\b",
            r"\b\d+(?:st|nd|rd|th)\b",
        ]
    )
)

_DIGITS = re.compile(
    r"(?<![\w.#/:@])(?<![A-Za-z]-)"
    r"(?P<sign>[-−](?=[$€£]?\d))?"
    r"(?P<cur>[$€£])?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?!\.\d|,\d{3}|/\d|:\d)"
    r"(?:(?P<suf>[kK]|[mM]|bn|[xX]|%)(?![A-Za-z0-9]))?"
)
_SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "dozen": 12.0}
_UNIT_AFTER = re.compile(r"(?:[ \t]?-[ \t]?|[ \t]+)?(?P<word>[A-Za-z]+)")
# Words that follow a number without naming what it counts.
_NOT_UNITS = {
    "and", "or", "but", "in", "on", "at", "to", "of", "the", "a", "an", "for", "with", "from",
    "by", "over", "than", "is", "are", "was", "were", "so", "as", "if", "then", "into",
}  # fmt: skip
_PERCENT_AFTER = re.compile(r"[ \t]+(?:percent|per[ \t]+cent)\b", re.IGNORECASE)

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")
_A_SCALES = {"dozen", "hundred", "thousand", "million"}
# "one" is often a pronoun: "no one", "the one that", "one of them".
_ONE_PRONOUN_BEFORE = {"no", "the", "any", "every", "each", "this", "that", "which", "some"}
_ONE_PRONOUN_AFTER = {"of", "another", "another's"}


def numbers_in(text: str) -> list[NumberMention]:
    """Return the numbers stated in ``text``, in order, dates and period names aside."""
    # The sweep reads the same sentences once per outcome; mentions are frozen, so the
    # cached answer is shared and only the list is new.
    return list(_numbers_in(text))


@lru_cache(maxsize=1 << 14)
def _numbers_in(text: str) -> tuple[NumberMention, ...]:
    blocked = [m.span() for m in _NOT_QUANTITIES.finditer(text)]

    def is_blocked(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in blocked)

    found = [m for m in _digit_mentions(text) if not is_blocked(m.start, m.end)]
    taken = [(m.start, m.end) for m in found]
    for mention in _word_mentions(text):
        overlaps = any(s < mention.end and mention.start < e for s, e in taken)
        if not overlaps and not is_blocked(mention.start, mention.end):
            found.append(mention)
    return tuple(sorted(found, key=lambda m: m.start))


def _digit_mentions(text: str) -> list[NumberMention]:
    out: list[NumberMention] = []
    for m in _DIGITS.finditer(text):
        raw = m.group("num")
        value = float(raw.replace(",", ""))
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        step = 10.0**-decimals
        unit: str | None = None
        end = m.end()
        suffix, currency = m.group("suf"), m.group("cur")
        if currency:
            unit = SYMBOL_CURRENCIES[currency]
        if suffix in ("k", "K"):
            value, step = value * 1e3, step * 1e3
        elif suffix == "bn" or (suffix in ("m", "M") and currency):
            scale = 1e9 if suffix == "bn" else 1e6
            value, step = value * scale, step * scale
        elif suffix in ("m", "M"):
            unit = "m"
        elif suffix in ("x", "X"):
            unit = "x"
        elif suffix == "%":
            unit = "%"
        if not suffix:
            scale_match = re.match(r"[ \t]+([A-Za-z]+)", text[end:])
            scale = _SCALE_WORDS.get(scale_match.group(1).lower(), 0.0) if scale_match else 0.0
            if scale_match and scale:
                value, step = value * scale, step * scale
                end += scale_match.end()
            percent = _PERCENT_AFTER.match(text, end)
            if percent:
                unit, end = "%", percent.end()
        if m.group("sign"):
            value = -value
        if unit is None:
            unit = _unit_word(text, end)
        out.append(NumberMention(value, m.start(), end, text[m.start() : end], unit, step))
    return out


def _unit_word(text: str, end: int) -> str | None:
    after = _UNIT_AFTER.match(text, end)
    word = after.group("word").lower() if after else None
    if word in _NOT_UNITS or word in _SMALL or word in _TENS:
        return None
    return word


def _word_mentions(text: str) -> list[NumberMention]:
    """Number words: "six", "twenty-two", "two hundred and fifty", "a dozen", "two and a half"."""
    words = [(w.group(0).lower(), w.start(), w.end()) for w in _WORD.finditer(text)]
    out: list[NumberMention] = []
    i = 0
    while i < len(words):
        parsed = _parse_words(text, words, i)
        if parsed is None:
            i += 1
            continue
        value, j = parsed
        start, end = words[i][1], words[j - 1][2]
        percent = _PERCENT_AFTER.match(text, end)
        if percent:
            unit: str | None = "%"
            end = percent.end()
        else:
            unit = _unit_word(text, end)
        out.append(NumberMention(value, start, end, text[start:end], unit, 1.0))
        i = j
    return out


def _joined(text: str, a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    """True when two words are one phrase: only spaces or a single hyphen between them."""
    gap = text[a[2] : b[1]]
    return gap in ("-",) or (gap.strip(" \t") == "" and 0 < len(gap) <= 3)


def _parse_words(text: str, words: list[tuple[str, int, int]], i: int) -> tuple[float, int] | None:
    """Parse a number phrase starting at word ``i``; return (value, index after it)."""
    total, current, last, j = 0.0, 0.0, "", i
    if words[i][0] in ("a", "an"):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if not (nxt and nxt[0] in _A_SCALES and _joined(text, words[i], nxt)):
            return None
        current, last, j = 1.0, "a", i + 1
    while j < len(words):
        word = words[j][0]
        if last and not _joined(text, words[j - 1], words[j]):
            break
        # Which word may follow which: "twenty two", "two hundred and five", not "six five".
        if (
            word in _SMALL
            and last in ("", "hundred", "scale", "and")
            or (word in _SMALL and last == "tens" and _SMALL[word] < 10)
        ):
            current, last = current + _SMALL[word], "small"
        elif word in _TENS and last in ("", "hundred", "scale", "and"):
            current, last = current + _TENS[word], "tens"
        elif word == "hundred" and last in ("small", "tens", "a") and current < 100:
            current, last = current * 100, "hundred"
        elif word in _SCALE_WORDS and word != "dozen" and last not in ("", "and", "scale"):
            total, current, last = total + current * _SCALE_WORDS[word], 0.0, "scale"
        elif word == "dozen" and last in ("small", "a"):
            current, last = current * 12, "dozen"
        elif word == "and" and last in ("hundred", "scale") and j + 1 < len(words):
            last = "and"
        elif word == "and" and last in ("small", "tens") and _half_follows(words, j):
            current, last, j = current + 0.5, "half", j + 3
            break
        else:
            break
        j += 1
    if last in ("", "a"):
        return None
    if last == "and":  # "two hundred and" with nothing after: give the "and" back
        j -= 1
    if j - i == 1 and words[i][0] == "one" and _one_is_pronoun(words, i):
        return None
    return total + current, j


def _half_follows(words: list[tuple[str, int, int]], j: int) -> bool:
    """True for "and a half" / "and one half" starting at word ``j``."""
    rest = [w[0] for w in words[j + 1 : j + 3]]
    return len(rest) == 2 and rest[0] in ("a", "one") and rest[1] == "half"


def _one_is_pronoun(words: list[tuple[str, int, int]], i: int) -> bool:
    before = words[i - 1][0] if i > 0 else ""
    after = words[i + 1][0] if i + 1 < len(words) else ""
    return before in _ONE_PRONOUN_BEFORE or after in _ONE_PRONOUN_AFTER
