"""Usage-event synthesis with exact planted values, and the generator's own reference aggregator.

The generator plans a value for every metric input (say "69 automated invoices in Q2"),
synthesises events that produce exactly that value inside the half-open period, adds events
that must *not* count (other ``where`` values, the first second after the period), and then
recomputes every value from the events with :func:`aggregate` — a deliberately simple,
independent reading of FORMATS §3 — so the planted truth never depends on the clerk's engine.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from evals.scenarios import Recipe

UTC = dt.UTC


@dataclass
class Event:
    """One usage event before it is written in one of the three input shapes."""

    type: str
    subject: str
    time: dt.datetime
    data: dict[str, Any]
    shape: str = "cloudevents"  # cloudevents | lago | csv
    ident: str = ""


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end), UTC."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def reporting_period(kind: str, as_of: dt.date, contract_start: dt.date) -> Window:
    """The newest complete calendar period ending on or before ``as_of`` (FORMATS §3)."""
    if kind == "contract":
        return Window(midnight(contract_start), midnight(as_of))
    if kind == "month":
        end = dt.date(as_of.year, as_of.month, 1)
        return Window(midnight(_add_months(end, -1)), midnight(end))
    if kind == "quarter":
        end = dt.date(as_of.year, (as_of.month - 1) // 3 * 3 + 1, 1)
        return Window(midnight(_add_months(end, -3)), midnight(end))
    if kind == "year":
        return Window(midnight(dt.date(as_of.year - 1, 1, 1)), midnight(dt.date(as_of.year, 1, 1)))
    raise ValueError(f"unknown period kind {kind!r}")


def period_before(kind: str, current: Window) -> Window | None:
    """The calendar period just before ``current``; None for the contract period."""
    months = {"month": 1, "quarter": 3, "year": 12}.get(kind)
    if months is None:
        return None
    start = _add_months(current.start.date(), -months)
    return Window(midnight(start), current.start)


MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


def _json_equal(a: Any, b: Any) -> bool:
    # JSON semantics: true is not 1, but 2 equals 2.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def aggregate(
    events: list[Event],
    metric: str,
    aggregation: str,
    fld: str | None,
    where: dict[str, Any],
    window: Window,
) -> float | None:
    """FORMATS §3 aggregation over ``events``; None when no event matches."""
    rows = [
        e
        for e in events
        if e.type == metric
        and window.start <= e.time < window.end
        and all(k in e.data and _json_equal(e.data[k], v) for k, v in where.items())
    ]
    if not rows:
        return None
    if aggregation == "count":
        return float(len(rows))
    assert fld is not None
    values = [r.data[fld] for r in rows if fld in r.data]
    if aggregation == "sum":
        return math.fsum(float(v) for v in values)
    if aggregation == "max":
        return float(max(values))
    if aggregation == "latest":
        newest = max(rows, key=lambda r: r.time)
        return float(newest.data[fld])
    if aggregation == "unique_count":
        return float(len({str(v) for v in values}))
    raise ValueError(aggregation)


@dataclass
class Plan:
    """What one window of one recipe must produce: primary value and optional extras."""

    value: float  # count / sum / max / latest / distinct users
    n: int = 0  # events that match (for sum / max / latest / unique_count)
    extra: dict[str, float] = field(default_factory=dict)  # rate: non-matching count


def _times(
    rng: random.Random, w: Window, n: int, *, first_at_start: bool = True
) -> list[dt.datetime]:
    # Seconds resolution like real exports; the first event lands on the period's first second.
    if w.seconds <= 0:
        return [w.start] * n
    out = [w.start + dt.timedelta(seconds=rng.randrange(w.seconds)) for _ in range(n)]
    if out and first_at_start:
        out[0] = w.start
    return out


class Synth:
    """Builds the events of one recipe in one account for a window and a plan."""

    def __init__(self, rng: random.Random, recipe: Recipe, subjects: list[str], tag: str) -> None:
        self.rng = rng
        self.recipe = recipe
        self.subjects = subjects
        self.tag = tag  # account-unique prefix for user ids

    def _event(self, time: dt.datetime, data: dict[str, Any]) -> Event:
        return Event(self.recipe.event_type, self.rng.choice(self.subjects), time, data)

    def _user(self, k: int) -> str:
        return f"{self.tag}-u{k:03d}"

    def window(self, w: Window, plan: Plan) -> list[Event]:
        """Events in ``w`` whose aggregation over the recipe's matching filter is ``plan``."""
        key, rng = self.recipe.key, self.rng
        out: list[Event] = []
        if key in ("hours", "rate", "reports"):
            n_match = int(plan.value)
            n_other = int(plan.extra.get("other", rng.randint(3, max(4, n_match // 3))))
            for t in _times(rng, w, n_match):
                out.append(self._event(t, self._count_data(True)))
            for t in _times(rng, w, n_other, first_at_start=False):
                out.append(self._event(t, self._count_data(False)))
        elif key == "revenue":
            cents = round(plan.value * 100)
            weights = [rng.uniform(0.5, 1.5) for _ in range(plan.n)]
            parts = [int(cents * wt / sum(weights)) for wt in weights]
            parts[-1] = cents - sum(parts[:-1])
            for t, c in zip(_times(rng, w, plan.n), parts, strict=True):
                out.append(
                    self._event(t, {"amount": c / 100, "recovered": True, "currency": "USD"})
                )
            for t in _times(rng, w, rng.randint(3, 10))[1:]:
                out.append(
                    self._event(
                        t,
                        {
                            "amount": round(rng.uniform(100, 9000), 2),
                            "recovered": False,
                            "currency": "USD",
                        },
                    )
                )
        elif key == "peak":
            top = int(plan.value)
            times = _times(rng, w, plan.n)
            for i, t in enumerate(times):
                ms = top if i == len(times) // 2 else rng.randint(top // 3, top - 1)
                out.append(self._event(t, {"page": self._page(True), "duration_ms": ms}))
            for t in _times(rng, w, rng.randint(3, 8))[1:]:
                out.append(
                    self._event(
                        t, {"page": self._page(False), "duration_ms": rng.randint(top + 1, top * 3)}
                    )
                )
        elif key == "backlog":
            newest = max(w.start, w.end - dt.timedelta(hours=rng.randint(2, 30)))
            times = sorted(_times(rng, Window(w.start, newest), plan.n - 1))
            for t in times:
                out.append(self._event(t, {"open_items": rng.randint(5, 400), "priority": 1}))
            out.append(self._event(newest, {"open_items": int(plan.value), "priority": 1}))
            # A lower-priority snapshot in the last second of the period must not win "latest".
            out.append(
                self._event(
                    w.end - dt.timedelta(seconds=1),
                    {"open_items": rng.randint(500, 900), "priority": 2},
                )
            )
        elif key == "adoption":
            k = int(plan.value)
            users = [self._user(i) for i in range(k)]
            n = max(plan.n, k)
            picks = users + [rng.choice(users) for _ in range(n - k)]
            for t, u in zip(_times(rng, w, n), picks, strict=True):
                out.append(self._event(t, {"user_id": u, "seat_tier": 2}))
            for t in _times(rng, w, rng.randint(4, 12))[1:]:
                out.append(
                    self._event(
                        t,
                        {
                            "user_id": self._user(500 + rng.randrange(50)),
                            "seat_tier": rng.choice([1, 3]),
                        },
                    )
                )
        return out

    def _count_data(self, match: bool) -> dict[str, Any]:
        key = self.recipe.key
        user = self._user(self.rng.randrange(40))
        if key == "hours":
            return {"mode": "auto" if match else "manual", "user": user}
        if key == "rate":
            return {"channel": "self_service" if match else "agent", "user": user}
        return {"format": self.rng.choice(["csv", "pdf", "xlsx"]), "user": user}

    def _page(self, match: bool) -> str:
        page = self.recipe.inputs[0].where["page"]
        return str(page) if match else self.rng.choice(["settings", "reports", "search"])

    def edge_after(self, w: Window) -> list[Event]:
        """An event on the first second after ``w`` that would change the value if counted."""
        key = self.recipe.key
        if key in ("hours", "rate", "reports"):
            return [self._event(w.end, self._count_data(True))]
        if key == "revenue":
            return [self._event(w.end, {"amount": 5000.0, "recovered": True, "currency": "USD"})]
        if key == "peak":
            return [self._event(w.end, {"page": self._page(True), "duration_ms": 99000})]
        if key == "backlog":
            return [self._event(w.end, {"open_items": 999, "priority": 1})]
        return [self._event(w.end, {"user_id": self._user(900), "seat_tier": 2})]

    def noise_window(self, w: Window, scale: int) -> list[Event]:
        """Unplanned events outside the periods that matter (history, the current partial one)."""
        if w.seconds <= 0:
            return []
        key, rng = self.recipe.key, self.rng
        n = max(1, scale)
        if key in ("hours", "rate", "reports"):
            return self.window(w, Plan(value=n))
        if key == "revenue":
            return self.window(w, Plan(value=round(rng.uniform(2000, 20000), 2), n=max(2, n // 4)))
        if key == "peak":
            return self.window(w, Plan(value=rng.randint(900, 4000), n=max(2, n // 3)))
        if key == "backlog":
            return self.window(w, Plan(value=rng.randint(10, 300), n=max(2, n // 3)))
        return self.window(w, Plan(value=max(2, n // 4), n=n))
