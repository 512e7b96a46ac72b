"""The per-digest rebuild as it was before issue 17: one query per digest (count, previous
count, field statistics). Kept here as the reference the set-based rebuild must equal."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import DateTime, String, bindparam, func, select, text
from sqlalchemy.orm import Session

from clerk.ingest.digests import (
    TOP_VALUES,
    DigestFigures,
    FieldStats,
    month_start,
    render_digest,
    shift_month,
)
from clerk.store.tables import AccountRow, UsageEventRow

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


def reference_content_hash(figures: DigestFigures) -> str:
    """The content hash the per-digest rebuild stored (text and asdict meta)."""
    raw = asdict(figures)
    raw["change_pct"] = figures.change_pct
    raw["fields"] = {f["name"]: {**f, "top": [list(t) for t in f["top"]]} for f in raw["fields"]}
    body = render_digest(figures)
    return hashlib.sha256(json.dumps([body, raw], sort_keys=True, default=str).encode()).hexdigest()
