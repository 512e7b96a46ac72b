"""Reporting periods: newest complete calendar period on or before as-of, half-open, UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from clerk.domain.models import Period
from clerk.domain.periods import bounds, months_in, previous_period, reporting_period

D = dt.date
CONTRACT = D(2025, 11, 15)


@pytest.mark.parametrize(
    ("kind", "as_of", "start", "end", "label"),
    [
        # The spec's example: July 1st closes Q2.
        ("quarter", D(2026, 7, 1), D(2026, 4, 1), D(2026, 7, 1), "Q2 2026"),
        # The last day of a quarter still reports the quarter before it.
        ("quarter", D(2026, 6, 30), D(2026, 1, 1), D(2026, 4, 1), "Q1 2026"),
        ("quarter", D(2026, 1, 1), D(2025, 10, 1), D(2026, 1, 1), "Q4 2025"),
        ("quarter", D(2026, 12, 31), D(2026, 7, 1), D(2026, 10, 1), "Q3 2026"),
        ("month", D(2026, 7, 1), D(2026, 6, 1), D(2026, 7, 1), "June 2026"),
        ("month", D(2026, 7, 31), D(2026, 6, 1), D(2026, 7, 1), "June 2026"),
        ("month", D(2026, 1, 15), D(2025, 12, 1), D(2026, 1, 1), "December 2025"),
        # Leap day: February 2024 has 29 days and ends at March 1st.
        ("month", D(2024, 3, 1), D(2024, 2, 1), D(2024, 3, 1), "February 2024"),
        ("month", D(2024, 2, 29), D(2024, 1, 1), D(2024, 2, 1), "January 2024"),
        ("year", D(2026, 7, 1), D(2025, 1, 1), D(2026, 1, 1), "2025"),
        ("year", D(2026, 1, 1), D(2025, 1, 1), D(2026, 1, 1), "2025"),
        ("contract", D(2026, 7, 1), CONTRACT, D(2026, 7, 1), "the contract to date"),
    ],
)
def test_reporting_period(
    kind: str, as_of: dt.date, start: dt.date, end: dt.date, label: str
) -> None:
    period = reporting_period(kind, as_of, CONTRACT)  # type: ignore[arg-type]
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize(
    ("kind", "start", "end", "before"),
    [
        ("quarter", D(2026, 4, 1), D(2026, 7, 1), (D(2026, 1, 1), D(2026, 4, 1))),
        ("quarter", D(2026, 1, 1), D(2026, 4, 1), (D(2025, 10, 1), D(2026, 1, 1))),
        ("month", D(2024, 3, 1), D(2024, 4, 1), (D(2024, 2, 1), D(2024, 3, 1))),
        ("month", D(2026, 1, 1), D(2026, 2, 1), (D(2025, 12, 1), D(2026, 1, 1))),
        ("year", D(2025, 1, 1), D(2026, 1, 1), (D(2024, 1, 1), D(2025, 1, 1))),
        ("contract", CONTRACT, D(2026, 7, 1), None),
    ],
)
def test_previous_period(
    kind: str, start: dt.date, end: dt.date, before: tuple[dt.date, dt.date] | None
) -> None:
    prev = previous_period(kind, Period(start=start, end=end))  # type: ignore[arg-type]
    assert (None if prev is None else (prev.start, prev.end)) == before


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (D(2026, 4, 1), D(2026, 7, 1), 3.0),
        (D(2024, 2, 1), D(2024, 3, 1), 1.0),
        (D(2025, 1, 1), D(2026, 1, 1), 12.0),
        # Contract to date: days over the mean month length.
        (D(2026, 1, 1), D(2026, 7, 2), 182 / (365.25 / 12)),
    ],
)
def test_months_in(start: dt.date, end: dt.date, months: float) -> None:
    assert months_in(Period(start=start, end=end)) == pytest.approx(months)


def test_bounds_are_midnight_utc_half_open() -> None:
    start, end = bounds(Period(start=D(2026, 4, 1), end=D(2026, 7, 1)))
    assert start == dt.datetime(2026, 4, 1, 0, 0, 0)
    assert end == dt.datetime(2026, 7, 1, 0, 0, 0)
