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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clerk.domain.format import fixed
from clerk.domain.ids import digest_source_id
from clerk.store.tables import AccountRow, SourceRow, UsageEventRow, utcnow

if TYPE_CHECKING:
    from clerk.ingest.digest_stats import UsageStats

DIGEST_KIND = "usage_digest"
TOP_VALUES = 3
# Beyond six decimals a figure is float noise, not data.
MAX_DECIMALS = 6
# Rows per statement when writing keys and digests (well under SQLite's bound-variable limit).
_WRITE_BATCH = 500

Touched = tuple[str, str, str]  # (account_id, event type, "YYYY-MM")


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
                f"{name}: sum {fixed(stats.sum, places)}, "
                f"min {fixed(stats.min, places)}, max {fixed(stats.max, places)}."
            )
        else:
            top = ", ".join(f"{value} {count:,}" for value, count in stats.top)
            parts.append(f"{name}: {stats.distinct:,} distinct — {top}.")
    return " ".join(parts)


# --- SQL: one set-based pass over every touched month ----------------------------------
#
# The months to rebuild go into a temporary table; three grouped queries joined to it give
# every month's count, its previous month's count and its field statistics at once, so the
# cost is one scan of the touched events, never a query per digest.

_KEYS = Table(
    "digest_keys",
    MetaData(),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("account_id", String(64)),
    Column("type", String(255)),
    Column("prev_start", DateTime),
    Column("start", DateTime),
    Column("end", DateTime),
    Column("source_id", String(512)),
    # 0: the field statistics of this month are known already (gathered while inserting).
    Column("in_sql", Integer),
    prefixes=["TEMPORARY"],
)

_JOIN = (
    "usage_events AS e ON e.account_id = dk.account_id AND e.type = dk.type "
    'AND e.time >= dk.{low} AND e.time < dk."end"'
)

# One row per (month, event, data field): key, value as text, value as number (numbers only),
# whether it is an integer, and its decimals as written.
_VALUES_SQL = {
    "sqlite": f"""
        SELECT dk.n AS dn, j.key AS k,
               CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                    ELSE CAST(j.value AS TEXT) END AS txt,
               CASE WHEN j.type IN ('integer', 'real') THEN j.value END AS num,
               CASE WHEN j.type = 'integer' THEN 1 ELSE 0 END AS is_int,
               CASE WHEN j.type = 'real' AND instr(CAST(j.value AS TEXT), '.') > 0
                    THEN length(CAST(j.value AS TEXT)) - instr(CAST(j.value AS TEXT), '.')
                    ELSE 0 END AS decimals
        FROM digest_keys AS dk JOIN {_JOIN.format(low="start")}, json_each(e.data) AS j
        WHERE dk.in_sql = 1 AND json_type(e.data) = 'object' AND j.type != 'null'
    """,
    "postgresql": f"""
        SELECT dk.n AS dn, j.key AS k,
               j.value #>> '{{}}' AS txt,
               CASE WHEN jsonb_typeof(j.value) = 'number'
                    THEN (j.value #>> '{{}}')::numeric END AS num,
               CASE WHEN jsonb_typeof(j.value) = 'number'
                         AND (j.value #>> '{{}}') !~ '[.eE]' THEN 1 ELSE 0 END AS is_int,
               CASE WHEN jsonb_typeof(j.value) = 'number' AND strpos(j.value #>> '{{}}', '.') > 0
                    THEN length(j.value #>> '{{}}') - strpos(j.value #>> '{{}}', '.')
                    ELSE 0 END AS decimals
        FROM digest_keys AS dk JOIN {_JOIN.format(low="start")}
        CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(e.data) = 'object' THEN e.data ELSE '{{}}'::jsonb END
        ) AS j
        WHERE dk.in_sql = 1 AND jsonb_typeof(j.value) != 'null'
    """,
}
# Ties between equally frequent values break by byte order on both databases.
_COLLATE = {"sqlite": "", "postgresql": ' COLLATE "C"'}
_MONTH_SQL = {"sqlite": "strftime('%Y-%m', time)", "postgresql": "to_char(time, 'YYYY-MM')"}

_COUNTS_SQL = (
    "SELECT dk.n, sum(CASE WHEN e.time >= dk.start THEN 1 ELSE 0 END), "
    "sum(CASE WHEN e.time < dk.start THEN 1 ELSE 0 END) "
    f"FROM digest_keys AS dk JOIN {_JOIN.format(low='prev_start')} GROUP BY dk.n"
)


def _stats_sql(dialect: str) -> str:
    """Field statistics of every month in digest_keys: values grouped once by (month, field,
    value); window functions over those groups give each field's totals and its most frequent
    values, so each month's JSON is unpacked only once."""
    return (
        f"WITH v AS ({_VALUES_SQL[dialect]}), "
        "g AS (SELECT dn, k, txt, count(*) AS c, count(num) AS cn, sum(num) AS s, "
        "min(num) AS lo, max(num) AS hi, min(is_int) AS ii, max(decimals) AS d "
        "FROM v GROUP BY dn, k, txt), "
        "r AS (SELECT dn, k, txt, c, sum(c) OVER w AS n, sum(cn) OVER w AS n_num, "
        "sum(s) OVER w AS total, min(lo) OVER w AS low, max(hi) OVER w AS high, "
        "min(ii) OVER w AS all_int, max(d) OVER w AS decimals, count(*) OVER w AS n_distinct, "
        f"row_number() OVER (PARTITION BY dn, k ORDER BY c DESC, txt{_COLLATE[dialect]}) AS rn "
        "FROM g WINDOW w AS (PARTITION BY dn, k)) "
        "SELECT dn, k, txt, c, n, n_num, total, low, high, all_int, decimals, n_distinct "
        f"FROM r WHERE rn <= {TOP_VALUES} ORDER BY dn, k, rn"
    )


def _sort_fields(stats: Iterable[FieldStats]) -> list[FieldStats]:
    # Numbers first, then categories from the fewest distinct values: how an analyst reads.
    return sorted(stats, key=lambda s: (not s.numeric, s.distinct if not s.numeric else 0, s.name))


def _load_keys(session: Session, months: list[Touched]) -> None:
    """Fill the session's temporary ``digest_keys`` table with the months to rebuild."""
    bind = session.connection()
    _KEYS.create(bind, checkfirst=True)
    session.execute(_KEYS.delete())
    rows = [
        {
            "n": n,
            "account_id": account_id,
            "type": event_type,
            "prev_start": month_start(shift_month(month, -1)),
            "start": month_start(month),
            "end": month_start(shift_month(month, 1)),
            "source_id": digest_source_id(account_id, event_type, month),
            "in_sql": 1,
        }
        for n, (account_id, event_type, month) in enumerate(months)
    ]
    for first in range(0, len(rows), _WRITE_BATCH):
        session.execute(insert(_KEYS), rows[first : first + _WRITE_BATCH])


def _known_fields(
    keys: list[Touched], counts: dict[int, tuple[int, int]], known: UsageStats | None
) -> dict[int, dict[str, FieldStats]]:
    """The field statistics ``known`` holds for months whose stored events are exactly the
    ones it counted (a month that held events before this ingest is left to SQL)."""
    fields: dict[int, dict[str, FieldStats]] = {}
    if known is None:
        return fields
    for n, key in enumerate(keys):
        count = counts.get(n, (0, 0))[0]
        if count and count == known.count(key):
            stats = known.fields(key)
            if stats is not None:
                fields[n] = {s.name: s for s in stats}
    return fields


def compute_all_figures(
    session: Session, months: Iterable[Touched], known: UsageStats | None = None
) -> list[DigestFigures]:
    """The figures of every given month, in the order given: three grouped queries in all.

    ``known``: field statistics gathered while this ingest inserted the events; the months it
    holds exactly are not unpacked again in SQL.
    """
    keys = list(months)
    if not keys:
        return []
    session.flush()
    _load_keys(session, keys)
    dialect = session.get_bind().dialect.name
    counts = {int(n): (int(c or 0), int(p or 0)) for n, c, p in session.execute(text(_COUNTS_SQL))}
    fields = _known_fields(keys, counts, known)
    done = sorted(fields)
    for first in range(0, len(done), _WRITE_BATCH):
        session.execute(
            _KEYS.update().where(_KEYS.c.n.in_(done[first : first + _WRITE_BATCH])).values(in_sql=0)
        )
    names: dict[str, str] = {
        a: name
        for a, name in session.execute(
            select(AccountRow.id, AccountRow.name).where(
                AccountRow.id.in_(select(_KEYS.c.account_id).distinct())
            )
        )
    }
    if any(c for n, (c, _) in counts.items() if n not in fields):
        for (
            dn,
            key,
            value,
            count,
            n,
            n_num,
            total,
            low,
            high,
            all_int,
            dec,
            distinct,
        ) in session.execute(text(_stats_sql(dialect))):
            stats = fields.setdefault(int(dn), {})
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
                    decimals=int(dec or 0),
                    distinct=int(distinct),
                )
            if not stats[key].numeric:
                stats[key].top.append((str(value), int(count)))
    figures = []
    for n, (account_id, event_type, month) in enumerate(keys):
        count, previous = counts.get(n, (0, 0))
        figures.append(
            DigestFigures(
                account_id=account_id,
                account_name=names.get(account_id, account_id),
                event_type=event_type,
                month=month,
                count=count,
                previous_count=previous,
                fields=_sort_fields(fields.get(n, {}).values()) if count else [],
            )
        )
    return figures


def compute_figures(
    session: Session, account_id: str, event_type: str, month: str
) -> DigestFigures:
    """All figures of one digest, from SQL."""
    return compute_all_figures(session, [(account_id, event_type, month)])[0]


def _meta(figures: DigestFigures) -> dict[str, Any]:
    # What dataclasses.asdict gives, written out: asdict deep-copies and costs more than the
    # whole SQL pass when thousands of digests are rebuilt.
    return {
        "account_id": figures.account_id,
        "account_name": figures.account_name,
        "event_type": figures.event_type,
        "month": figures.month,
        "count": figures.count,
        "previous_count": figures.previous_count,
        "fields": {
            f.name: {
                "name": f.name,
                "count": f.count,
                "numeric": f.numeric,
                "sum": f.sum,
                "min": f.min,
                "max": f.max,
                "integral": f.integral,
                "decimals": f.decimals,
                "distinct": f.distinct,
                "top": [[value, count] for value, count in f.top],
            }
            for f in figures.fields
        },
        "change_pct": figures.change_pct,
    }


def digest_row(figures: DigestFigures, now: dt.datetime) -> dict[str, Any]:
    """The ``sources`` row of a digest with events, as column values."""
    body = render_digest(figures)
    meta = _meta(figures)
    content_hash = hashlib.sha256(
        json.dumps([body, meta], sort_keys=True, default=str).encode()
    ).hexdigest()
    return {
        "id": digest_source_id(figures.account_id, figures.event_type, figures.month),
        "account_id": figures.account_id,
        "kind": DIGEST_KIND,
        "title": f"{figures.event_type}, {month_label(figures.month)}",
        "text": body,
        "date": month_start(figures.month),
        "author": None,
        "public": True,
        "customer_spans": [],
        "meta": meta,
        "content_hash": content_hash,
        "updated_at": now,
    }


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    table = SourceRow.__table__
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    columns = [c for c in rows[0] if c != "id"]
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={c: statement.excluded[c] for c in columns}
    )
    for first in range(0, len(rows), _WRITE_BATCH):
        session.execute(statement, rows[first : first + _WRITE_BATCH])


def write_digests(session: Session, figures: list[DigestFigures]) -> int:
    """Insert, update or (with no events) delete the digest sources in bulk.

    A digest whose content did not change is not written (its ``updated_at`` stays). Returns
    how many digests were rebuilt: months with events, plus emptied months that had a digest.
    """
    ids = [digest_source_id(f.account_id, f.event_type, f.month) for f in figures]
    stored: dict[str, str] = {
        sid: h
        for sid, h in session.execute(
            select(SourceRow.id, SourceRow.content_hash).where(
                SourceRow.id.in_(select(_KEYS.c.source_id))
            )
        )
    }
    now = utcnow()
    changed = []
    gone = []
    for source_id, fig in zip(ids, figures, strict=True):
        if fig.count == 0:
            if source_id in stored:
                gone.append(source_id)
            continue
        row = digest_row(fig, now)
        if stored.get(source_id) != row["content_hash"]:
            changed.append(row)
    for first in range(0, len(gone), _WRITE_BATCH):
        session.execute(
            delete(SourceRow).where(SourceRow.id.in_(gone[first : first + _WRITE_BATCH]))
        )
    if changed:
        _upsert(session, changed)
    return sum(1 for sid, f in zip(ids, figures, strict=True) if f.count or sid in stored)


def rebuild_digests(
    session: Session, touched: set[Touched], known: UsageStats | None = None
) -> int:
    """Rebuild the digest sources of the touched (account, event type, "YYYY-MM") months.

    A month's digest compares with the month before, so the month after each touched one is
    rebuilt too. One set-based pass, whatever the number of months. Returns how many digests
    were rebuilt (an empty set rebuilds nothing). ``known``: see :func:`compute_all_figures`.
    """
    months = set(touched)
    months |= {(a, t, shift_month(m, 1)) for a, t, m in touched}
    if not months:
        return 0
    rebuilt = write_digests(session, compute_all_figures(session, sorted(months), known))
    session.expire_all()  # rows written in bulk: the identity map must not serve old copies
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
    keep = {digest_source_id(*key) for key in months}
    stale = [
        sid
        for sid in session.scalars(select(SourceRow.id).where(SourceRow.kind == DIGEST_KIND))
        if sid not in keep
    ]
    for first in range(0, len(stale), _WRITE_BATCH):
        session.execute(
            delete(SourceRow).where(SourceRow.id.in_(stale[first : first + _WRITE_BATCH]))
        )
    return rebuild_digests(session, months)
