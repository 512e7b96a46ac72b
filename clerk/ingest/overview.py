"""What the store holds per account: the rows behind `clerk accounts` and the demo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from clerk.store import Store
from clerk.store.tables import AccountRow, SourceRow, UsageEventRow


@dataclass(frozen=True)
class AccountOverview:
    """One account with how much evidence the clerk holds for it."""

    id: str
    name: str
    csm: str | None
    renewal: dt.date | None
    events: int
    tickets: int
    notes: int


def account_overview(store: Store) -> list[AccountOverview]:
    """Every account with its event, ticket and note counts, soonest renewal first."""
    with store.session() as session:
        # Result objects have .keys(), so dict(result) would treat them as a mapping.
        events: dict[str, int] = {
            account: count
            for account, count in session.execute(
                select(UsageEventRow.account_id, func.count())
                .where(UsageEventRow.account_id.is_not(None))
                .group_by(UsageEventRow.account_id)
            )
            if account is not None
        }
        sources: dict[tuple[str, str], int] = {
            (account, kind): count
            for account, kind, count in session.execute(
                select(SourceRow.account_id, SourceRow.kind, func.count())
                .where(SourceRow.kind.in_(("ticket", "note")))
                .group_by(SourceRow.account_id, SourceRow.kind)
            )
        }
        rows = session.execute(
            select(AccountRow.id, AccountRow.name, AccountRow.csm, AccountRow.renewal)
        )
        out = [
            AccountOverview(
                id=account_id,
                name=name,
                csm=csm,
                renewal=renewal,
                events=events.get(account_id, 0),
                tickets=sources.get((account_id, "ticket"), 0),
                notes=sources.get((account_id, "note"), 0),
            )
            for account_id, name, csm, renewal in rows
        ]
    # Renewals with no date go last: nothing is due for them.
    return sorted(out, key=lambda a: (a.renewal is None, a.renewal or dt.date.max, a.id))
