"""Reading numbers out of text: what a claim or a customer's sentence states, dates aside."""

from __future__ import annotations

import pytest

from clerk.domain.format import number
from clerk.domain.textnum import numbers_in


def _read(text: str) -> list[tuple[float, str, str | None]]:
    return [(m.value, m.text, m.unit) for m in numbers_in(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # digits, separators, decimals, currency, percent, multiples, k
        ("1,320 hours saved", [(1320.0, "1,320", "hours")]),
        ("payback in 4.8485 months", [(4.8485, "4.8485", "months")]),
        ("$59,400 labour cost", [(59400.0, "$59,400", "USD")]),
        ("€1,200 and £30", [(1200.0, "€1,200", "EUR"), (30.0, "£30", "GBP")]),
        ("12% of invoices", [(12.0, "12%", "%")]),
        ("12 percent more", [(12.0, "12 percent", "%")]),
        ("invoices under 10k.", [(10000.0, "10k", None)]),
        ("a 2.5x faster close", [(2.5, "2.5x", "x")]),
        ("$1.5m pipeline", [(1_500_000.0, "$1.5m", "USD")]),
        ("1.2 million users", [(1_200_000.0, "1.2 million", "users")]),
        ("down -5% on the month", [(-5.0, "-5%", "%")]),
        ("5-10 days", [(5.0, "5", None), (10.0, "10", "days")]),
        ("a 5-day close", [(5.0, "5", "day")]),
        ("100,000.50 paid", [(100000.5, "100,000.50", "paid")]),
        # number words
        ("in six days", [(6.0, "six", "days")]),
        ("twenty-two people", [(22.0, "twenty-two", "people")]),
        ("twenty two people", [(22.0, "twenty two", "people")]),
        ("two hundred and fifty invoices", [(250.0, "two hundred and fifty", "invoices")]),
        ("three thousand approvals", [(3000.0, "three thousand", "approvals")]),
        ("a dozen approvers", [(12.0, "a dozen", "approvers")]),
        ("two and a half days", [(2.5, "two and a half", "days")]),
        ("from nine days to six", [(9.0, "nine", "days"), (6.0, "six", None)]),
        ("ten minutes instead of two days", [(10.0, "ten", "minutes"), (2.0, "two", "days")]),
        ("a one-page summary", [(1.0, "one", "page")]),
        ("six five", [(6.0, "six", None), (5.0, "five", None)]),
        # not quantities: pronouns, ordinals, identifiers, versions
        ("no one noticed, it was the one that failed", []),
        ("first time ever, the 3rd run", []),
        ("evt-0001 by u-25 on #48121", []),
        ("Fixed in 4.2.1, rules now apply", []),
        ("a book and a pen", []),
    ],
)
def test_numbers_in_reads_digits_words_and_units(
    text: str, expected: list[tuple[float, str, str | None]]
) -> None:
    assert _read(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "on 2026-06-12",
        "at 2026-04-20T08:00:00Z",
        "by 2026-04",
        "on 6/12/2026",
        "at 10:00",
        "at 9:30 am",
        "at 3pm",
        "June 12",
        "June 12, 2026",
        "12 June 2026",
        "the 12th of June",
        "June 2026",
        "Sept. 3",
        "Q2 2026",
        "Q2 FY26",
        "2026 Q2",
        "H1 2026",
        "FY2026",
        "2025-2026",
        "in 2026",
        "since 2025",
    ],
)
def test_numbers_in_skips_dates_times_and_period_names(text: str) -> None:
    assert numbers_in(text) == []


def test_numbers_in_keeps_numbers_next_to_dates_apart() -> None:
    text = "1,320 hours saved in Q2 2026, against a target of 1,200 (as of 2026-07-01)."
    assert _read(text) == [(1320.0, "1,320", "hours"), (1200.0, "1,200", None)]


def test_offsets_point_at_the_number_in_the_text() -> None:
    text = "Priya said we closed the June books in six days."
    [mention] = numbers_in(text)
    assert text[mention.start : mention.end] == "six"


@pytest.mark.parametrize(
    ("text", "step"),
    [("1,320", 1.0), ("4.85", 0.01), ("4.8", 0.1), ("10k", 1000.0), ("1.5k", 100.0), ("six", 1.0)],
)
def test_step_is_the_place_of_the_last_digit_shown(text: str, step: float) -> None:
    [mention] = numbers_in(text)
    assert mention.step == pytest.approx(step)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1320.0, "1,320"),
        (4.8485, "4.85"),
        (59400, "59,400"),
        (1.1, "1.1"),
        (0.5, "0.5"),
        (1234567.891, "1,234,567.89"),
        (-2500.0, "-2,500"),
        (0.0, "0"),
        (-0.001, "0"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert number(value) == text


@pytest.mark.parametrize("value", [1320.0, 4.8485, 59400.0, 38.0, 0.25, 1234567.891])
def test_format_number_reads_back_within_its_precision(value: float) -> None:
    [mention] = numbers_in(number(value))
    assert abs(mention.value - value) <= mention.step / 2 + 1e-9
