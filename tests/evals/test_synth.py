"""The generator's own period arithmetic and reference aggregator (FORMATS §3), by table."""

from __future__ import annotations

import datetime as dt

import pytest

from evals.synth import Event, Window, aggregate, midnight, period_before, reporting_period

D = dt.date


@pytest.mark.parametrize(
    ("kind", "as_of", "start", "end", "before"),
    [
        ("month", D(2026, 7, 1), D(2026, 6, 1), D(2026, 7, 1), D(2026, 5, 1)),
        ("month", D(2026, 3, 15), D(2026, 2, 1), D(2026, 3, 1), D(2026, 1, 1)),
        ("month", D(2026, 1, 1), D(2025, 12, 1), D(2026, 1, 1), D(2025, 11, 1)),
        ("quarter", D(2026, 7, 1), D(2026, 4, 1), D(2026, 7, 1), D(2026, 1, 1)),
        ("quarter", D(2026, 6, 30), D(2026, 1, 1), D(2026, 4, 1), D(2025, 10, 1)),
        ("year", D(2026, 7, 1), D(2025, 1, 1), D(2026, 1, 1), D(2024, 1, 1)),
        ("year", D(2026, 1, 1), D(2025, 1, 1), D(2026, 1, 1), D(2024, 1, 1)),
    ],
)
def test_reporting_period_is_the_newest_complete_one(
    kind: str, as_of: dt.date, start: dt.date, end: dt.date, before: dt.date
) -> None:
    window = reporting_period(kind, as_of, D(2024, 1, 1))
    assert (window.start, window.end) == (midnight(start), midnight(end))
    prior = period_before(kind, window)
    assert prior is not None and (prior.start, prior.end) == (midnight(before), midnight(start))


def test_contract_period_runs_to_as_of_and_has_no_period_before() -> None:
    window = reporting_period("contract", D(2026, 7, 1), D(2025, 9, 1))
    assert (window.start, window.end) == (midnight(D(2025, 9, 1)), midnight(D(2026, 7, 1)))
    assert period_before("contract", window) is None


def _e(day: str, **data: object) -> Event:
    return Event("t", "s", dt.datetime.fromisoformat(day), dict(data))


JUNE = Window(midnight(D(2026, 6, 1)), midnight(D(2026, 7, 1)))
EVENTS = [
    _e("2026-06-01T00:00:00+00:00", mode="auto", v=5, ok=True, tier=2, user="a"),  # first second
    _e("2026-06-30T23:59:59+00:00", mode="auto", v=7, ok=False, tier=2, user="b"),  # last second
    _e("2026-06-15T12:00:00+00:00", mode="manual", v=50, ok=True, tier=1, user="a"),
    _e("2026-07-01T00:00:00+00:00", mode="auto", v=99, ok=True, tier=2, user="c"),  # next period
    _e("2026-06-10T00:00:00+00:00", mode="auto", v=3, ok=1, tier=2.0, user="a"),  # 1 is not true
]


@pytest.mark.parametrize(
    ("aggregation", "field", "where", "value"),
    [
        ("count", None, {}, 4.0),
        ("count", None, {"mode": "auto"}, 3.0),
        ("sum", "v", {"ok": True}, 55.0),
        ("max", "v", {"mode": "auto"}, 7.0),
        ("latest", "v", {}, 7.0),
        ("unique_count", "user", {"tier": 2}, 2.0),  # 2.0 equals 2 in JSON
        ("count", None, {"mode": "none"}, None),
    ],
)
def test_reference_aggregator(
    aggregation: str, field: str | None, where: dict, value: float | None
) -> None:
    assert aggregate(EVENTS, "t", aggregation, field, where, JUNE) == value
