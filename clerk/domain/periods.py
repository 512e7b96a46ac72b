"""Reporting periods: calendar month / quarter / year and contract-to-date, all half-open and UTC.

For an as-of date D the reporting period of a kind is the newest *complete* calendar period
that ends on or before D (FORMATS §3). Period ends are exclusive, so ``as_of=2026-07-01`` gives
Q2 2026 = [2026-04-01, 2026-07-01): the books for June are closed at midnight on July 1st.
"""

from __future__ import annotations

import datetime as dt

from clerk.domain.models import Period, PeriodKind

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_PER_KIND = {"month": 1, "quarter": 3, "year": 12}


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after ``day``'s month (``day`` is a first of month)."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _period_end(kind: str, as_of: dt.date) -> dt.date:
    """The newest boundary of ``kind`` on or before ``as_of``."""
    if kind == "month":
        return as_of.replace(day=1)
    if kind == "quarter":
        return dt.date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    if kind == "year":
        return dt.date(as_of.year, 1, 1)
    raise ValueError(f"unknown calendar period kind {kind!r}")


def label(kind: PeriodKind, start: dt.date, end: dt.date) -> str:
    """A human name for a period: "June 2026", "Q2 2026", "2026", "the contract to date"."""
    if kind == "month":
        return f"{MONTH_NAMES[start.month - 1]} {start.year}"
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == "year":
        return f"{start.year}"
    return "the contract to date"


def reporting_period(kind: PeriodKind, as_of: dt.date, contract_start: dt.date) -> Period:
    """The period an outcome of ``kind`` reports on at ``as_of``.

    ``contract`` is [contract_start, as_of); the calendar kinds are the newest complete one.
    """
    if kind == "contract":
        return Period(start=contract_start, end=as_of, label=label(kind, contract_start, as_of))
    end = _period_end(kind, as_of)
    start = _add_months(end, -_MONTHS_PER_KIND[kind])
    return Period(start=start, end=end, label=label(kind, start, end))


def previous_period(kind: PeriodKind, period: Period) -> Period | None:
    """The calendar period of the same kind just before ``period``; None for ``contract``.

    A contract-to-date period has no like-for-like predecessor, so usage_drop skips it.
    """
    if kind == "contract":
        return None
    start = _add_months(period.start, -_MONTHS_PER_KIND[kind])
    return Period(start=start, end=period.start, label=label(kind, start, period.start))


def months_in(period: Period) -> float:
    """Length of a period in months: whole months for calendar periods, else days / (365.25/12).

    Payback divides a period's benefit by this to get the benefit per month.
    """
    start, end = period.start, period.end
    if start.day == 1 and end.day == 1:
        return float((end.year - start.year) * 12 + end.month - start.month)
    return (end - start).days / (365.25 / 12)


def bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """Naive-UTC datetimes [start, end) for SQL comparisons against event times."""
    return (
        dt.datetime.combine(period.start, dt.time()),
        dt.datetime.combine(period.end, dt.time()),
    )
