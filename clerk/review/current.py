"""The current proof of an account at a date: which drafts and gap flags are in force.

Current = drafted for the reporting periods ``as_of`` gives the account's outcomes, not
superseded (items) / not resolved (flags); account-wide flags have no period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.domain.models import Account, Period, ValueCase
from clerk.domain.periods import reporting_period
from clerk.domain.vocabulary import kind_rank
from clerk.store.rows import gap_document, item_document, stored_value_case
from clerk.store.tables import AccountRow, GapFlagRow, ProofItemRow, SweepStateRow


def current_items(
    session: Session, account_id: str, periods: dict[str | None, Period]
) -> list[ProofItemRow]:
    """Items of the given outcome periods (``None`` = payback), superseded ones left out."""
    rows = session.scalars(
        select(ProofItemRow).where(
            ProofItemRow.account_id == account_id, ProofItemRow.status != "superseded"
        )
    ).all()
    order = {o: n for n, o in enumerate(periods)}
    out = [
        r
        for r in rows
        if r.outcome_id in periods
        and (r.period_start, r.period_end)
        == (periods[r.outcome_id].start, periods[r.outcome_id].end)
    ]
    out.sort(key=lambda r: (order[r.outcome_id], kind_rank(r.kind), r.created_at, r.id))
    return out


def current_gaps(
    session: Session, account_id: str, periods: dict[str | None, Period]
) -> list[GapFlagRow]:
    """Gap flags of the given outcome periods plus account-wide ones, resolved left out."""
    rows = session.scalars(
        select(GapFlagRow).where(
            GapFlagRow.account_id == account_id, GapFlagRow.status != "resolved"
        )
    ).all()
    order = {o: n for n, o in enumerate(periods)}
    out = []
    for row in rows:
        period = row.payload.get("period")
        if row.outcome_id is None:
            out.append(row)
        elif row.outcome_id in periods and period is not None:
            wanted = periods[row.outcome_id]
            if (period["start"], period["end"]) == (
                wanted.start.isoformat(),
                wanted.end.isoformat(),
            ):
                out.append(row)
    out.sort(key=lambda r: (order.get(r.outcome_id, len(order)), r.kind, r.id))
    return out


def reporting_periods(
    session: Session, account_id: str, as_of: dt.date
) -> tuple[Account, ValueCase, dict[str | None, Any]]:
    """The period of every outcome (and of the payback, key ``None``) at ``as_of``."""
    row = session.get(AccountRow, account_id)
    if row is None:
        raise LookupError(f"unknown account {account_id!r}")
    account = Account.model_validate(row.data)
    value_case = stored_value_case(session, account_id)
    periods: dict[str | None, Any] = {
        o.id: reporting_period(o.period, as_of, account.contract.start) for o in value_case.outcomes
    }
    if value_case.payback is not None and value_case.payback.benefit in periods:
        periods[None] = periods[value_case.payback.benefit]
    return account, value_case, periods


def latest_as_of(session: Session, account_id: str) -> dt.date | None:
    """The newest as-of date the account was swept at, if any."""
    row = session.execute(
        select(SweepStateRow.as_of)
        .where(SweepStateRow.account_id == account_id)
        .order_by(SweepStateRow.as_of.desc())
        .limit(1)
    ).first()
    return row[0] if row else None


def account_document(session: Session, account_id: str, as_of: dt.date) -> dict[str, Any]:
    """FORMATS §8: the account's current proof items and gap flags for ``as_of``.

    Current = drafted for the reporting periods ``as_of`` gives the account's outcomes, not
    superseded (items) / not resolved (flags); account-wide flags have no period.
    """
    _account, _value_case, periods = reporting_periods(session, account_id, as_of)
    return {
        "account": account_id,
        "as_of": as_of.isoformat(),
        "proof_items": [item_document(r) for r in current_items(session, account_id, periods)],
        "gap_flags": [gap_document(r) for r in current_gaps(session, account_id, periods)],
    }
