"""The metric engine: FORMATS §3 aggregations over usage events, run in SQL.

Each metric input of an outcome becomes one aggregate query over ``usage_events`` restricted to
(account, type, [start, end)) — the columns of ``ix_usage_events_account_type_time`` — and to
the ``where`` filters. Filters compare JSON values, not their text: ``{flag: true}`` matches the
boolean ``true`` and never the string ``"true"``; ``{n: 5}`` matches ``5`` and ``5.0``. SQLite
uses ``json_type``/``json_extract`` and PostgreSQL ``jsonb`` equality for that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Select, and_, bindparam, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from clerk.domain import ids
from clerk.domain.models import OutcomeInput, Period
from clerk.domain.numeric import number_from_text
from clerk.domain.periods import bounds
from clerk.store.tables import UsageEventRow


@dataclass(frozen=True)
class MetricQuery:
    """What one metric input aggregates: event type, aggregation, field and equality filters."""

    metric: str
    aggregation: str = "count"
    field: str | None = None
    where: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_input(cls, item: OutcomeInput) -> MetricQuery:
        if item.metric is None:
            raise ValueError(f"input {item.name} is not a metric input")
        # Filter values follow the rule for stored data: "5" in a value case matches 5.
        where = tuple(sorted((str(k), _filter_value(v)) for k, v in (item.where or {}).items()))
        return cls(item.metric, item.aggregation or "count", item.field, where)


@dataclass(frozen=True)
class MetricValue:
    """An aggregate and how many events it rests on. ``value`` is None when no event matched."""

    value: float | None
    events: int
    source_id: str = ""
    notes: tuple[str, ...] = field(default=())
    field: str | None = None  # the data field a sum/max/latest reads
    non_numeric: int = 0  # events whose field holds a value that is not a number
    example: str | None = None  # one such value, as stored

    def non_numeric_note(self) -> str | None:
        """``in 12 of 40 events amount is not a number (e.g. 'n/a')``, or None."""
        if not self.non_numeric:
            return None
        return (
            f"in {self.non_numeric:,} of {self.events:,} events {self.field} is not a number "
            f"(e.g. {self.example!r})"
        )


def _filter_value(value: Any) -> Any:
    if isinstance(value, str):
        number = number_from_text(value)
        return value if number is None else number
    return value


def _where_text(value: Any) -> str:
    # Strings read as themselves; everything else as JSON so true/5/5.0 stay distinguishable.
    return value if isinstance(value, str) else json.dumps(value)


def metric_source_id(query: MetricQuery, period: Period) -> str:
    """``metric:<type>?<k=v&... sorted>@<start>..<end>``; no ``?`` part without filters."""
    where = "&".join(f"{k}={_where_text(v)}" for k, v in sorted(query.where))
    return ids.metric_source_id(query.metric, where, period.start, period.end)


def _json_path(name: str) -> str:
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Dialect:
    """The JSON expressions of one SQL dialect."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"
        self.data = UsageEventRow.__table__.c.data

    def equals(self, key: str, value: Any) -> ColumnElement[bool]:
        if self.pg:
            return self.data[key] == cast(literal(json.dumps(value)), JSONB)
        path = _json_path(key)
        kind = func.json_type(self.data, path)
        if value is None:
            return kind == "null"
        if isinstance(value, bool):
            return kind == ("true" if value else "false")
        if isinstance(value, int | float):
            return and_(kind.in_(("integer", "real")), func.json_extract(self.data, path) == value)
        if isinstance(value, str):
            return and_(kind == "text", func.json_extract(self.data, path) == value)
        # Arrays and objects: compare minified JSON text.
        return func.json(func.json_extract(self.data, path)) == func.json(json.dumps(value))

    def is_number(self, key: str) -> ColumnElement[bool]:
        if self.pg:
            return func.jsonb_typeof(self.data[key]) == "number"
        return func.json_type(self.data, _json_path(key)).in_(("integer", "real"))

    def is_present(self, key: str) -> ColumnElement[bool]:
        if self.pg:
            return and_(self.data[key].isnot(None), func.jsonb_typeof(self.data[key]) != "null")
        return func.json_type(self.data, _json_path(key)).notin_(("null",))

    def number(self, key: str) -> ColumnElement[Any]:
        if self.pg:
            return cast(self.data[key].as_string(), Float)
        return func.json_extract(self.data, _json_path(key))

    def as_text(self, key: str) -> ColumnElement[Any]:
        if self.pg:
            text: ColumnElement[Any] = self.data[key].as_string()
            return text
        return func.json_extract(self.data, _json_path(key))

    def raw(self, key: str) -> ColumnElement[Any]:
        if self.pg:
            return self.data[key]
        # json_quote keeps 5 and "5" apart when counting distinct values.
        return func.json_quote(func.json_extract(self.data, _json_path(key)))


def aggregate(session: Session, account_id: str, query: MetricQuery, period: Period) -> MetricValue:
    """Run one aggregation in SQL for an account and period.

    Only events with a numeric ``data[field]`` feed sum/max/latest; only events where the field
    is present feed unique_count. The event count is of all events matching type and filters.
    For sum/max/latest, events whose field holds something else (text that is not a number,
    a boolean, an object) are counted in ``non_numeric`` with one ``example``, so a figure that
    leaves values out never passes for a complete one.
    """
    start, end = bounds(period)
    source_id = metric_source_id(query, period)
    agg = query.aggregation
    if agg != "count" and not query.field:
        raise ValueError(f"aggregation {agg} needs a field")
    fld = query.field or ""
    built = _statements(session.get_bind().dialect.name, query)
    params = {"account_id": account_id, "start": start, "end": end}
    checked: dict[str, Any] = {}
    # Core statements on the session's connection (same transaction, after a flush of any
    # pending rows), without the ORM's execute path around each of these small queries.
    session.flush()
    run = session.connection().execute

    total: Any = None
    events: Any = None
    if built.scan is not None:
        found = run(built.scan, params).one()
        events, non_numeric, example = found[0], found[1], found[2]
        total = found[3] if agg in ("sum", "max") else None
        checked = {"field": fld, "non_numeric": int(non_numeric or 0), "example": example}
        if example is not None:
            checked["example"] = str(example)

    if agg == "latest":
        assert built.latest is not None
        row = run(built.latest, params).first()
        value = None if row is None or row[0] is None else float(row[0])
        notes = () if value is not None or not events else (f"no event has a number in {fld}",)
        return MetricValue(value, int(events), source_id, notes, **checked)

    if agg in ("sum", "max"):
        result = total
    elif agg == "count":
        assert built.count is not None
        events = result = run(built.count, params).scalar_one()
    else:
        assert built.unique is not None
        events, result = run(built.unique, params).one()
    extra: dict[str, Any] = checked if agg in ("sum", "max") else {}
    if not events:
        return MetricValue(None, 0, source_id)
    if result is None:
        return MetricValue(
            None, int(events), source_id, (f"no event has a value in {fld}",), **extra
        )
    return MetricValue(float(result), int(events), source_id, **extra)


@dataclass(frozen=True)
class _Built:
    """The statements of one (dialect, query) with the account and the period as bound
    parameters: built once, reused for every account and period (building and coercing the
    expressions cost more than running them)."""

    scan: Select[Any] | None = None  # count and non-numeric check (+ sum / max)
    latest: Select[Any] | None = None
    count: Select[Any] | None = None
    unique: Select[Any] | None = None


_BUILT: dict[tuple[str, MetricQuery], _Built] = {}
_BUILT_MAX = 4096


def _statements(dialect: str, query: MetricQuery) -> _Built:
    key = (dialect, query)
    try:
        built = _BUILT.get(key)
    except TypeError:  # a list or mapping in `where` is not hashable: built each time
        return _build(dialect, query)
    if built is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        built = _BUILT[key] = _build(dialect, query)
    return built


def _build(dialect: str, query: MetricQuery) -> _Built:
    t = UsageEventRow.__table__.c
    d = _Dialect(dialect)
    conditions: list[ColumnElement[bool]] = [
        t.account_id == bindparam("account_id"),
        t.type == query.metric,
        t.time >= bindparam("start"),
        t.time < bindparam("end"),
    ]
    conditions += [d.equals(k, v) for k, v in query.where]
    agg = query.aggregation
    fld = query.field or ""
    if agg in ("sum", "max", "latest"):
        odd = and_(d.is_present(fld), ~d.is_number(fld))
        columns = [func.count(), func.count().filter(odd), func.min(d.as_text(fld)).filter(odd)]
        # sum and max come in the same scan as the check (one query, not two).
        if agg == "sum":
            columns.append(func.sum(d.number(fld)).filter(d.is_number(fld)))
        elif agg == "max":
            columns.append(func.max(d.number(fld)).filter(d.is_number(fld)))
        scan = select(*columns).where(*conditions)
        if agg != "latest":
            return _Built(scan=scan)
        latest = (
            select(d.number(fld))
            .where(*conditions, d.is_number(fld))
            .order_by(t.time.desc(), t.seq.desc())
            .limit(1)
        )
        return _Built(scan=scan, latest=latest)
    if agg == "count":
        return _Built(count=select(func.count()).where(*conditions))
    if agg == "unique_count":
        # NULL when no event has the field, so that reads as a missing input, not as zero.
        present = func.count(func.distinct(d.raw(fld))).filter(d.is_present(fld))
        return _Built(unique=select(func.count(), func.nullif(present, 0)).where(*conditions))
    raise ValueError(f"unknown aggregation {agg!r}")
