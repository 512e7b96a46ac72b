"""What an ingest still owes: evidence-version bumps and usage digests, kept in SQL.

Every write that makes an account's evidence change also records, in the same transaction,
what that change obliges (``ingest_pending``). :func:`settle` pays every debt at the end of a
run in one transaction: digests rebuilt, versions bumped, debts deleted. A run killed at any
point therefore leaves its debts behind, and the next run pays them, so a kill followed by a
rerun ends in the state of one clean run (an account is never left stale with its new events
unseen by the sweep, and no month loses its digest).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clerk.ingest.digest_stats import UsageStats
from clerk.ingest.digests import Touched, rebuild_digests
from clerk.store.tables import AccountRow, IngestPendingRow

_TABLE = IngestPendingRow.__table__


def _insert(bind: Connection | Session, rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(_TABLE).on_conflict_do_nothing()
    bind.execute(statement, rows)


def owe_accounts(bind: Connection | Session, accounts: Iterable[str]) -> None:
    """Record that these accounts' evidence versions must go up (same transaction as the data)."""
    rows = [
        {"kind": "account", "account_id": a, "event_type": "", "month": ""}
        for a in sorted(set(accounts))
    ]
    _insert(bind, rows)


def owe_digests(bind: Connection | Session, touched: Iterable[Touched]) -> None:
    """Record that these (account, event type, month) digests must be rebuilt."""
    rows = [
        {"kind": "digest", "account_id": a, "event_type": t, "month": m}
        for a, t, m in sorted(set(touched))
    ]
    _insert(bind, rows)
    owe_accounts(bind, {a for a, _, _ in rows_to_touched(rows)})


def rows_to_touched(rows: list[dict[str, str]]) -> set[Touched]:
    return {(r["account_id"], r["event_type"], r["month"]) for r in rows}


def settle(session: Session, known: UsageStats | None = None) -> tuple[set[str], set[Touched], int]:
    """Pay every debt: rebuild owed digests, bump owed evidence versions, clear the debts.

    ``known``: the field statistics this run gathered while inserting (digests of the months
    it holds exactly are not unpacked again in SQL).

    Returns (accounts bumped, digest months owed, digests rebuilt). One transaction: a kill
    before its commit leaves every debt in place for the next run.
    """
    owed = session.execute(
        select(
            IngestPendingRow.kind,
            IngestPendingRow.account_id,
            IngestPendingRow.event_type,
            IngestPendingRow.month,
        )
    ).all()
    accounts = {a for kind, a, _, _ in owed if kind == "account"}
    touched = {(a, t, m) for kind, a, t, m in owed if kind == "digest"}
    rebuilt = rebuild_digests(session, touched, known) if touched else 0
    if accounts:
        session.execute(
            update(AccountRow)
            .where(AccountRow.id.in_(sorted(accounts)))
            .values(evidence_version=AccountRow.evidence_version + 1)
        )
    session.execute(delete(IngestPendingRow))
    return accounts, touched, rebuilt
