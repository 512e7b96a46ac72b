"""The one formatter module: what a packet, a page, a claim and a digest write."""

from __future__ import annotations

import datetime as dt

import pytest

from clerk.domain.format import date_text, fixed, money, number, percent, with_unit
from clerk.domain.textnum import numbers_in


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (59400.0, "USD", "$59,400"),
        (1234.5, "EUR", "€1,234.5"),
        (12.0, "GBP", "£12"),
        (96000.0, "CHF", "96,000 CHF"),
        (1320.0, "hours", "1,320 hours"),
        (7.0, None, "7"),
        (None, "USD", "—"),
    ],
)
def test_with_unit(value: float | None, unit: str | None, text: str) -> None:
    assert with_unit(value, unit) == text


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [(96000.0, "usd", "$96,000"), (1234.56, "USD", "$1,235"), (96000.0, "CHF", "96,000 CHF")],
)
def test_money_rounds_like_a_claim(value: float, currency: str, text: str) -> None:
    assert money(value, currency) == text


@pytest.mark.parametrize("text", ["$59,400", "€1,234.5", "£12"])
def test_currency_symbols_read_back_as_their_code(text: str) -> None:
    [mention] = numbers_in(text)
    assert mention.unit == {"$": "USD", "€": "EUR", "£": "GBP"}[text[0]]


def test_number_none_and_digits() -> None:
    assert number(None) == "—"
    assert number(4.8485, digits=1) == "4.8"


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(9123456.784, 2, "9,123,456.78"), (101.2, 2, "101.20"), (3.6, 0, "4")],
)
def test_fixed(value: float, decimals: int, text: str) -> None:
    assert fixed(value, decimals) == text


def test_percent_and_dates() -> None:
    assert percent(0.954) == "95%"
    assert percent(None) == "—"
    assert date_text(dt.date(2026, 6, 12)) == "2026-06-12"
    assert date_text(dt.datetime(2026, 6, 12, 9, 30), with_time=True) == "2026-06-12 09:30 UTC"
    assert date_text(None) == "—"
