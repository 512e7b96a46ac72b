"""The five aggregations, run in SQL on SQLite and PostgreSQL, with JSON-typed filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clerk.domain.models import Period
from clerk.engine.metrics import MetricQuery, aggregate, metric_source_id
from clerk.store import Store
from clerk.store.tables import UsageEventRow

Q2 = Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1))
T = dt.datetime

# (time, type, data) of account "acme"; one event of "other" shows accounts never mix.
EVENTS: list[tuple[dt.datetime, str, dict[str, Any]]] = [
    (T(2026, 4, 1, 0, 0, 0), "job.done", {"mode": "auto", "n": 5, "flag": True, "who": "a"}),
    (T(2026, 5, 2, 9, 0, 0), "job.done", {"mode": "auto", "n": 5.0, "flag": "true", "who": "b"}),
    (T(2026, 5, 3, 9, 0, 0), "job.done", {"mode": "manual", "n": "5", "flag": False, "who": "a"}),
    (T(2026, 6, 30, 23, 59, 59), "job.done", {"mode": "auto", "n": 7, "who": "c"}),
    # The first second of the next period and the last second before this one stay out.
    (T(2026, 7, 1, 0, 0, 0), "job.done", {"mode": "auto", "n": 100, "who": "z"}),
    (T(2026, 3, 31, 23, 59, 59), "job.done", {"mode": "auto", "n": 100, "who": "y"}),
    (T(2026, 5, 1, 0, 0, 0), "seat.count", {"seats": 12}),
    (T(2026, 6, 1, 0, 0, 0), "seat.count", {"seats": 9}),
    (T(2026, 6, 1, 0, 0, 0), "seat.count", {"note": "no seats field"}),
]


@pytest.fixture
def events_store(any_store: Store) -> Store:
    with any_store.session() as session:
        for n, (time, kind, data) in enumerate(EVENTS):
            session.add(
                UsageEventRow(
                    source_id=f"event:t/{n}",
                    account_id="acme",
                    subject="acme",
                    type=kind,
                    time=time,
                    data=data,
                )
            )
        session.add(
            UsageEventRow(
                source_id="event:t/other",
                account_id="other",
                subject="other",
                type="job.done",
                time=T(2026, 5, 1),
                data={"mode": "auto", "n": 1000},
            )
        )
    return any_store


CASES: list[tuple[str, MetricQuery, float | None, int]] = [
    ("count in period, boundaries half-open", MetricQuery("job.done"), 4, 4),
    ("count with string filter", MetricQuery("job.done", where=(("mode", "auto"),)), 3, 3),
    ("boolean true does not match string 'true'",
     MetricQuery("job.done", where=(("flag", True),)), 1, 1),
    ("string 'true' does not match boolean true",
     MetricQuery("job.done", where=(("flag", "true"),)), 1, 1),
    ("false matches only false", MetricQuery("job.done", where=(("flag", False),)), 1, 1),
    ("number 5 matches 5 and 5.0 but not '5'",
     MetricQuery("job.done", where=(("n", 5),)), 2, 2),
    ("number 5.0 matches like 5", MetricQuery("job.done", where=(("n", 5.0),)), 2, 2),
    ("string '5' matches only the string", MetricQuery("job.done", where=(("n", "5"),)), 1, 1),
    ("two filters are both required",
     MetricQuery("job.done", where=(("mode", "auto"), ("n", 5))), 2, 2),
    ("sum skips non-numbers", MetricQuery("job.done", "sum", "n"), 17, 4),
    ("max", MetricQuery("job.done", "max", "n"), 7, 4),
    ("latest is the newest event's value", MetricQuery("seat.count", "latest", "seats"), 9, 3),
    ("unique_count of distinct values", MetricQuery("job.done", "unique_count", "who"), 3, 4),
    ("unique_count with filter", MetricQuery("job.done", "unique_count", "who",
                                             (("mode", "auto"),)), 3, 3),
    ("no events: no value", MetricQuery("nothing.happened"), None, 0),
    ("filter matching nothing: no value", MetricQuery("job.done", where=(("mode", "x"),)),
     None, 0),
    ("sum of a field no event has", MetricQuery("job.done", "sum", "missing"), None, 4),
    ("unique_count of a field no event has",
     MetricQuery("job.done", "unique_count", "missing"), None, 4),
    ("latest of a text field has no number", MetricQuery("seat.count", "latest", "note"),
     None, 3),
]  # fmt: skip


@pytest.mark.parametrize(("name", "query", "value", "events"), CASES, ids=[c[0] for c in CASES])
def test_aggregate(
    events_store: Store, name: str, query: MetricQuery, value: float | None, events: int
) -> None:
    with events_store.session() as session:
        result = aggregate(session, "acme", query, Q2)
    assert result.value == (None if value is None else pytest.approx(value))
    assert result.events == events


@pytest.mark.parametrize(
    ("query", "source_id"),
    [
        (MetricQuery("approval.completed", where=(("mode", "auto"),)),
         "metric:approval.completed?mode=auto@2026-04-01..2026-07-01"),
        (MetricQuery("approval.completed", "unique_count", "approver"),
         "metric:approval.completed@2026-04-01..2026-07-01"),
        (MetricQuery("x", where=(("z", True), ("a", 5))),
         "metric:x?a=5&z=true@2026-04-01..2026-07-01"),
    ],
)  # fmt: skip
def test_metric_source_id(query: MetricQuery, source_id: str) -> None:
    assert metric_source_id(query, Q2) == source_id


def test_aggregation_without_field_is_refused(events_store: Store) -> None:
    with events_store.session() as session, pytest.raises(ValueError, match="needs a field"):
        aggregate(session, "acme", MetricQuery("job.done", "sum"), Q2)


@pytest.mark.parametrize(
    ("query", "non_numeric", "example"),
    [
        (MetricQuery("job.done", "sum", "n"), 1, "5"),  # the string "5" stored before the rule
        (MetricQuery("job.done", "max", "flag"), 3, None),  # booleans and "true" are not numbers
        (MetricQuery("seat.count", "latest", "seats"), 0, None),
        (MetricQuery("job.done", "sum", "missing"), 0, None),  # absent is not "not a number"
    ],
)
def test_values_that_are_not_numbers_are_counted_with_an_example(
    events_store: Store, query: MetricQuery, non_numeric: int, example: str | None
) -> None:
    with events_store.session() as session:
        result = aggregate(session, "acme", query, Q2)
    assert result.non_numeric == non_numeric
    if example is not None:
        assert result.example == example
    note = result.non_numeric_note()
    assert (note is None) == (non_numeric == 0)
    if note:
        assert f"in {non_numeric} of {result.events} events {query.field} is not a number" in note
