"""English number words shared by the generator (which writes them), the scorer and the
baseline (which read them). Kept apart from clerk.domain.textnum on purpose: the evals must not
judge the clerk with the clerk's own number reader."""

from __future__ import annotations

SMALL_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

SMALL = {word: value for value, word in enumerate(SMALL_WORDS)}
TENS = {word: 10 * (index + 2) for index, word in enumerate(TENS_WORDS)}


def spell(n: int) -> str:
    """0..99 in words: ``6`` -> ``six``, ``38`` -> ``thirty-eight``."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is outside 0..99")
    if n < 20:
        return SMALL_WORDS[n]
    tens, unit = divmod(n, 10)
    return TENS_WORDS[tens - 2] + ("" if unit == 0 else f"-{SMALL_WORDS[unit]}")


def read_word(token: str) -> int | None:
    """``six`` -> 6, ``thirty-eight`` -> 38, ``forty`` -> 40; anything else -> None."""
    token = token.lower()
    if token in SMALL:
        return SMALL[token]
    head, _, tail = token.partition("-")
    if head in TENS and (not tail or tail in SMALL):
        return TENS[head] + SMALL.get(tail, 0)
    return None
