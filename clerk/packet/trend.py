"""Delivered against target over the last reporting periods: the packet's small charts.

Each earlier period is computed with the same engine as the sweep (clerk.engine.calculations
over metrics aggregated in SQL), evaluated at that period's end, so a chart point is the number
the sweep would have drafted then. Customer-reported outcomes have no calculation and no trend.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from clerk.domain.models import Account, OutcomeTrend, Period, TrendPoint, ValueCase
from clerk.domain.periods import previous_period, reporting_period
from clerk.engine.calculations import evaluate_value_case
from clerk.engine.metrics import MetricQuery, MetricValue, aggregate

TREND_PERIODS = 4


def outcome_trends(
    session: Session,
    account: Account,
    value_case: ValueCase,
    as_of: dt.date,
    outcome_ids: set[str],
    *,
    periods: int = TREND_PERIODS,
) -> list[OutcomeTrend]:
    """The last ``periods`` reporting periods (oldest first) of each outcome in
    ``outcome_ids`` that has a formula and a calendar period."""
    seen: dict[tuple[MetricQuery, dt.date, dt.date], MetricValue] = {}

    def fetch(query: MetricQuery, period: Period) -> MetricValue:
        try:
            key = (query, period.start, period.end)
            if key not in seen:
                seen[key] = aggregate(session, account.id, query, period)
            return seen[key]
        except TypeError:  # an unhashable `where`: just run it
            return aggregate(session, account.id, query, period)

    wanted = [
        o
        for o in value_case.outcomes
        if o.id in outcome_ids and o.formula is not None and o.period != "contract"
    ]
    by_end: dict[dt.date, dict[str, Period]] = {}
    for outcome in wanted:
        period: Period | None = reporting_period(outcome.period, as_of, account.contract.start)
        for _ in range(periods):
            if period is None or period.end <= account.contract.start:
                break
            by_end.setdefault(period.end, {})[outcome.id] = period
            period = previous_period(outcome.period, period)
    points: dict[str, list[TrendPoint]] = {o.id: [] for o in wanted}
    for end in sorted(by_end):
        results = evaluate_value_case(account, value_case, end, fetch)
        for outcome_id, period in by_end[end].items():
            result = results.get(outcome_id)
            if result is None or (result.period.start, result.period.end) != (
                period.start,
                period.end,
            ):
                continue
            points[outcome_id].append(
                TrendPoint(period=period, delivered=result.delivered, target=result.outcome.target)
            )
    return [OutcomeTrend(outcome=o.id, points=points[o.id]) for o in wanted if points[o.id]]
