"""Monthly usage digests (issue 7): one readable, exact line per account, event type and month.

Raw events stay in SQL for exact calculations; what retrieval sees of usage is a digest an
analyst could have written:

    Northwind Logistics, approval.completed, May 2026: 1,734 events (+12.4% vs April 2026).
    amount: sum 9,123,456.78, min 101.20, max 9,998.00. mode: 2 distinct — auto 1,600,
    manual 134.

Every figure comes from SQL aggregations over the month's events (JSON fields unpacked with
``json_each`` on SQLite and ``jsonb_each`` on PostgreSQL); the digest is stored as a source
``digest:<account>/<type>/<YYYY-MM>`` of kind ``usage_digest`` (never customer words), with the
raw figures in ``meta``. Formatting is a pure function of those figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import DateTime, String, bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from clerk.store.tables import AccountRow, SourceRow, UsageEventRow, utcnow

DIGEST_KIND = "usage_digest"
DIGEST_PREFIX = "digest:"
TOP_VALUES = 3
# Beyond six decimals a figure is float noise, not data.
MAX_DECIMALS = 6

Touched = tuple[str, str, str]  # (account_id, event type, "YYYY-MM")


def digest_id(account_id: str, event_type: str, month: str) -> str:
    """The source id of a month's digest (FORMATS §7)."""
    return f"{DIGEST_PREFIX}{account_id}/{event_type}/{month}"


def month_start(month: str) -> dt.datetime:
    """Midnight UTC of the first day of ``YYYY-MM``."""
    year, mon = (int(part) for part in month.split("-"))
    return dt.datetime(year, mon, 1)


def shift_month(month: str, delta: int) -> str:
    """``YYYY-MM`` moved by ``delta`` months."""
    start = month_start(month)
    index = start.year * 12 + start.month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_label(month: str) -> str:
    """``2026-05`` -> ``May 2026``."""
    return month_start(month).strftime("%B %Y")


# --- figures (from SQL) and text (pure) ---------------------------------------------------


@dataclass
class FieldStats:
    """Statistics of one data field over a month's events (nulls and absent values skipped)."""

    name: str
    count: int
    numeric: bool
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    integral: bool = False
    decimals: int = 0
    distinct: int = 0
    top: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class DigestFigures:
    """Everything a digest says, as numbers."""

    account_id: str
    account_name: str
    event_type: str
    month: str
    count: int
    previous_count: int
    fields: list[FieldStats] = field(default_factory=list)

    @property
    def change_pct(self) -> float | None:
        """Change of the event count against the month before, in percent (None: no base)."""
        if not self.previous_count:
            return None
        return (self.count - self.previous_count) * 100.0 / self.previous_count


def format_number(value: float | int, decimals: int) -> str:
    """Thousands separators and a fixed number of decimals (0 for integer fields)."""
    if not math.isfinite(value):
        return "(not a finite number)"
    if decimals <= 0:
        return f"{round(value):,}"
    # The default context keeps 28 digits: quantizing 1e30 to cents needs more, and raised
    # InvalidOperation, which stopped every digest of the run.
    with localcontext() as ctx:
        ctx.prec = 400
        return f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals)):,.{decimals}f}"


def render_digest(figures: DigestFigures) -> str:
    """The digest line for ``figures``; every number in it is one of the figures."""
    label = month_label(figures.month)
    noun = "event" if figures.count == 1 else "events"
    head = f"{figures.account_name}, {figures.event_type}, {label}: {figures.count:,} {noun}"
    previous = month_label(shift_month(figures.month, -1))
    change = figures.change_pct
    if change is None:
        head += f" (none in {previous})."
    else:
        head += f" ({change:+.1f}% vs {previous})."
    parts = [head]
    for stats in figures.fields:
        name = stats.name
        if stats.count != figures.count:
            name += f" (in {stats.count:,} events)"
        if stats.numeric:
            places = 0 if stats.integral else min(max(2, stats.decimals), MAX_DECIMALS)
            assert stats.sum is not None and stats.min is not None and stats.max is not None
            parts.append(
                f"{name}: sum {format_number(stats.sum, places)}, "
                f"min {format_number(stats.min, places)}, max {format_number(stats.max, places)}."
            )
        else:
            top = ", ".join(f"{value} {count:,}" for value, count in stats.top)
            parts.append(f"{name}: {stats.distinct:,} distinct — {top}.")
    return " ".join(parts)


# --- SQL ----------------------------------------------------------------------------------

_EVENT_FILTER = "e.account_id = :account AND e.type = :type AND e.time >= :start AND e.time < :end"

# One row per (event, data field): key, value as text, value as number (numbers only),
# whether it is an integer, and its decimals as written.
_VALUES_SQL = {
    "sqlite": f"""
        SELECT j.key AS k,
               CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                    ELSE CAST(j.value AS TEXT) END AS txt,
               CASE WHEN j.type IN ('integer', 'real') THEN j.value END AS num,
               CASE WHEN j.type = 'integer' THEN 1 ELSE 0 END AS is_int,
               CASE WHEN j.type = 'real' AND instr(CAST(j.value AS TEXT), '.') > 0
                    THEN length(CAST(j.value AS TEXT)) - instr(CAST(j.value AS TEXT), '.')
                    ELSE 0 END AS decimals
        FROM usage_events AS e, json_each(e.data) AS j
        WHERE {_EVENT_FILTER} AND json_type(e.data) = 'object' AND j.type != 'null'
    """,
    "postgresql": f"""
        SELECT j.key AS k,
               j.value #>> '{{}}' AS txt,
               CASE WHEN jsonb_typeof(j.value) = 'number'
                    THEN (j.value #>> '{{}}')::numeric END AS num,
               CASE WHEN jsonb_typeof(j.value) = 'number'
                         AND (j.value #>> '{{}}') !~ '[.eE]' THEN 1 ELSE 0 END AS is_int,
               CASE WHEN jsonb_typeof(j.value) = 'number' AND strpos(j.value #>> '{{}}', '.') > 0
                    THEN length(j.value #>> '{{}}') - strpos(j.value #>> '{{}}', '.')
                    ELSE 0 END AS decimals
        FROM usage_events AS e
        CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(e.data) = 'object' THEN e.data ELSE '{{}}'::jsonb END
        ) AS j
        WHERE {_EVENT_FILTER} AND jsonb_typeof(j.value) != 'null'
    """,
}
# Ties between equally frequent values break by byte order on both databases.
_COLLATE = {"sqlite": "", "postgresql": ' COLLATE "C"'}
_MONTH_SQL = {"sqlite": "strftime('%Y-%m', time)", "postgresql": "to_char(time, 'YYYY-MM')"}


def _params(account_id: str, event_type: str, month: str) -> dict[str, Any]:
    return {
        "account": account_id,
        "type": event_type,
        "start": month_start(month),
        "end": month_start(shift_month(month, 1)),
    }


def _typed(statement: Any) -> Any:
    # Typed binds make SQLAlchemy render datetimes the way it stores them on SQLite.
    return statement.bindparams(
        bindparam("account", type_=String()),
        bindparam("type", type_=String()),
        bindparam("start", type_=DateTime()),
        bindparam("end", type_=DateTime()),
    )


def count_events(session: Session, account_id: str, event_type: str, month: str) -> int:
    """Events of one account, type and month."""
    start = month_start(month)
    query = select(func.count()).where(
        UsageEventRow.account_id == account_id,
        UsageEventRow.type == event_type,
        UsageEventRow.time >= start,
        UsageEventRow.time < month_start(shift_month(month, 1)),
    )
    return int(session.scalar(query) or 0)


def field_stats(session: Session, account_id: str, event_type: str, month: str) -> list[FieldStats]:
    """Statistics of every data field of a month's events, computed in SQL in one pass.

    Values are grouped once by (field, value); window functions over those groups give each
    field's totals and its most frequent values, so the month's JSON is unpacked only once.
    """
    dialect = session.get_bind().dialect.name
    query = _typed(
        text(
            f"WITH v AS ({_VALUES_SQL[dialect]}), "
            "g AS (SELECT k, txt, count(*) AS c, count(num) AS cn, sum(num) AS s, "
            "min(num) AS lo, max(num) AS hi, min(is_int) AS ii, max(decimals) AS d "
            "FROM v GROUP BY k, txt), "
            "r AS (SELECT k, txt, c, sum(c) OVER w AS n, sum(cn) OVER w AS n_num, "
            "sum(s) OVER w AS total, min(lo) OVER w AS low, max(hi) OVER w AS high, "
            "min(ii) OVER w AS all_int, max(d) OVER w AS decimals, count(*) OVER w AS n_distinct, "
            f"row_number() OVER (PARTITION BY k ORDER BY c DESC, txt{_COLLATE[dialect]}) AS rn "
            "FROM g WINDOW w AS (PARTITION BY k)) "
            f"SELECT k, txt, c, n, n_num, total, low, high, all_int, decimals, n_distinct "
            f"FROM r WHERE rn <= {TOP_VALUES} ORDER BY k, rn"
        )
    )
    stats: dict[str, FieldStats] = {}
    rows = session.execute(query, _params(account_id, event_type, month))
    for key, value, count, n, n_num, total, low, high, all_int, decimals, distinct in rows:
        if key not in stats:
            numeric = n_num == n
            stats[key] = FieldStats(
                name=key,
                count=int(n),
                numeric=numeric,
                sum=float(total) if numeric else None,
                min=float(low) if numeric else None,
                max=float(high) if numeric else None,
                integral=numeric and bool(all_int),
                decimals=int(decimals or 0),
                distinct=int(distinct),
            )
        if not stats[key].numeric:
            stats[key].top.append((str(value), int(count)))
    # Numbers first, then categories from the fewest distinct values: how an analyst reads.
    return sorted(
        stats.values(), key=lambda s: (not s.numeric, s.distinct if not s.numeric else 0, s.name)
    )


def compute_figures(
    session: Session, account_id: str, event_type: str, month: str
) -> DigestFigures:
    """All figures of one digest, from SQL."""
    account = session.get(AccountRow, account_id)
    count = count_events(session, account_id, event_type, month)
    return DigestFigures(
        account_id=account_id,
        account_name=account.name if account is not None else account_id,
        event_type=event_type,
        month=month,
        count=count,
        previous_count=count_events(session, account_id, event_type, shift_month(month, -1)),
        fields=field_stats(session, account_id, event_type, month) if count else [],
    )


def _meta(figures: DigestFigures) -> dict[str, Any]:
    raw = asdict(figures)
    raw["change_pct"] = figures.change_pct
    raw["fields"] = {f["name"]: {**f, "top": [list(t) for t in f["top"]]} for f in raw["fields"]}
    return raw


def write_digest(session: Session, figures: DigestFigures) -> bool:
    """Insert, update or (with no events) delete the digest source. True when it changed."""
    source_id = digest_id(figures.account_id, figures.event_type, figures.month)
    row = session.get(SourceRow, source_id)
    if figures.count == 0:
        if row is not None:
            session.delete(row)
            return True
        return False
    body = render_digest(figures)
    meta = _meta(figures)
    content_hash = hashlib.sha256(
        json.dumps([body, meta], sort_keys=True, default=str).encode()
    ).hexdigest()
    if row is not None and row.content_hash == content_hash:
        return False
    if row is None:
        row = SourceRow(id=source_id)
        session.add(row)
    row.account_id = figures.account_id
    row.kind = DIGEST_KIND
    row.title = f"{figures.event_type}, {month_label(figures.month)}"
    row.text = body
    row.date = month_start(figures.month)
    row.author = None
    row.public = True
    row.customer_spans = []
    row.meta = meta
    row.content_hash = content_hash
    row.updated_at = utcnow()
    return True


def rebuild_digests(session: Session, touched: set[Touched]) -> int:
    """Rebuild the digest sources of the touched (account, event type, "YYYY-MM") months.

    A month's digest compares with the month before, so the month after each touched one is
    rebuilt too. Returns how many digests were rebuilt (an empty set rebuilds nothing).
    """
    months = set(touched)
    months |= {(a, t, shift_month(m, 1)) for a, t, m in touched}
    rebuilt = 0
    for account_id, event_type, month in sorted(months):
        figures = compute_figures(session, account_id, event_type, month)
        existed = session.get(SourceRow, digest_id(account_id, event_type, month)) is not None
        write_digest(session, figures)
        rebuilt += 1 if figures.count or existed else 0
    session.flush()
    return rebuilt


def all_months(session: Session) -> set[Touched]:
    """Every (account, event type, month) that has routed events."""
    month = text(_MONTH_SQL[session.get_bind().dialect.name])
    query = (
        select(UsageEventRow.account_id, UsageEventRow.type, month)
        .where(UsageEventRow.account_id.is_not(None))
        .distinct()
    )
    return {(str(a), str(t), str(m)) for a, t, m in session.execute(query)}


def rebuild_all_digests(session: Session) -> int:
    """Rebuild every digest from SQL and drop digests whose month has no events any more."""
    months = all_months(session)
    keep = {digest_id(*key) for key in months}
    stale = [
        sid
        for sid in session.scalars(select(SourceRow.id).where(SourceRow.kind == DIGEST_KIND))
        if sid not in keep
    ]
    if stale:
        session.execute(delete(SourceRow).where(SourceRow.id.in_(stale)))
    return rebuild_digests(session, months)
