"""The evals' own number words: what the generator writes, the scorer reads back."""

from __future__ import annotations

import pytest

from evals.numwords import read_word, spell

CASES = [(0, "zero"), (6, "six"), (19, "nineteen"), (20, "twenty"), (38, "thirty-eight"),
         (99, "ninety-nine")]  # fmt: skip


@pytest.mark.parametrize(("n", "words"), CASES)
def test_spell_and_read_back(n: int, words: str) -> None:
    assert spell(n) == words
    assert read_word(words) == n
    assert read_word(words.upper()) == n


@pytest.mark.parametrize("token", ["hundred", "sixish", "twenty-twenty", "", "6"])
def test_other_tokens_are_not_numbers(token: str) -> None:
    assert read_word(token) is None


def test_spell_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError):
        spell(100)
