"""A small factory of accounts, sources, drafts and gap flags, written straight to the store.

Tests of the review side build exactly the rows they need here, independent of the sweep.
Payloads are real domain models dumped to JSON, as the sweep stores them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from clerk.domain.models import (
    Account,
    Calculation,
    CalculationInput,
    Citation,
    Contract,
    GapFlag,
    Outcome,
    Period,
    ProofItem,
)
from clerk.store import Store
from clerk.store.tables import AccountRow, GapFlagRow, OutcomeRow, ProofItemRow, SourceRow

AS_OF = dt.date(2026, 7, 1)
Q2 = Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026")
SCRIPT_TEXT = '<script>alert("owned")</script>'


def _hash(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def add_account(
    store: Store, account_id: str, csm: str | None, *, renewal: dt.date | None = None
) -> Account:
    renewal = renewal or dt.date(2027, 1, 1)
    account = Account(
        id=account_id,
        name=account_id.title() + " Inc",
        csm=csm,
        contract=Contract(start=dt.date(2026, 1, 1), renewal=renewal, annual_value=96000),
    )
    outcomes = [
        Outcome(
            id="hours_saved",
            title="Hours saved on approvals",
            category="cost",
            unit="hours",
            target=1200,
            formula="approvals * minutes / 60",
        ),
        Outcome(
            id="close_days",
            title="Days to close the books",
            category="productivity",
            unit="days",
            direction="decrease",
            baseline=9,
            target=6,
            evidence="customer_reported",
        ),
    ]
    with store.session() as session:
        session.add(
            AccountRow(
                id=account_id,
                name=account.name,
                csm=csm,
                renewal=renewal,
                data=account.model_dump(mode="json"),
                content_hash=_hash(account_id),
            )
        )
        for n, o in enumerate(outcomes):
            session.add(
                OutcomeRow(
                    account_id=account_id,
                    id=o.id,
                    position=n,
                    title=o.title,
                    category=o.category,
                    period=o.period,
                    data=o.model_dump(mode="json"),
                )
            )
    return account


def add_source(
    store: Store,
    account_id: str,
    source_id: str,
    text: str,
    customer: tuple[int, int] | None = None,
) -> None:
    with store.session() as session:
        session.add(
            SourceRow(
                id=source_id,
                account_id=account_id,
                kind="ticket_comment",
                title="Ticket 7",
                text=text,
                date=dt.datetime(2026, 6, 2, 9, 0),
                author="customer",
                customer_spans=[{"start": customer[0], "end": customer[1]}] if customer else [],
                meta={},
                content_hash=_hash(source_id, text),
            )
        )


def calc_item(account_id: str, item_id: str | None = None, **changes: Any) -> ProofItem:
    item = ProofItem(
        id=item_id or f"pi_{account_id}_hours",
        account=account_id,
        outcome="hours_saved",
        kind="calculation",
        claim="1,320 hours saved on approvals in Q2 2026, against a target of 1,200.",
        period=Q2,
        delivered=1320.0,
        target=1200.0,
        unit="hours",
        attainment=1.1,
        calculation=Calculation(
            formula="approvals * minutes / 60",
            inputs=[
                CalculationInput(
                    name="approvals",
                    value=4800,
                    unit="count",
                    source="metric:approval.completed@2026-04-01..2026-07-01",
                ),
                CalculationInput(
                    name="minutes",
                    value=16.5,
                    unit="minutes",
                    source="assumption:hours_saved.minutes",
                    cited_as="Time study, 2025-12-02",
                ),
            ],
            result=1320.0,
        ),
        confidence="high",
        confidence_reasons=["every input is measured usage or a sourced assumption"],
    )
    return item.model_copy(update=changes)


def statement_item(
    account_id: str,
    source_id: str,
    text: str,
    quote: str,
    item_id: str | None = None,
    **changes: Any,
) -> ProofItem:
    start = text.index(quote)
    item = ProofItem(
        id=item_id or f"pi_{account_id}_close",
        account=account_id,
        outcome="close_days",
        kind="customer_statement",
        claim=f'The customer said: "{quote}".',
        period=Q2,
        delivered=6,
        target=6,
        unit="days",
        citations=[Citation(source=source_id, quote=quote, start=start, end=start + len(quote))],
        evidence_category="customer_confirmed",
        confidence="medium",
        confidence_reasons=["the customer's own words, quoted verbatim"],
    )
    return item.model_copy(update=changes)


def add_item(store: Store, item: ProofItem, *, created_at: dt.datetime | None = None) -> str:
    with store.session() as session:
        row = ProofItemRow(
            id=item.id,
            account_id=item.account,
            outcome_id=item.outcome,
            kind=item.kind,
            as_of=AS_OF,
            period_start=item.period.start if item.period else None,
            period_end=item.period.end if item.period else None,
            status=item.status,
            drafted_by=item.drafted_by,
            evidence_key=_hash(item.id),
            payload=item.model_dump(mode="json"),
        )
        if created_at is not None:
            row.created_at = created_at
        session.add(row)
    return item.id


def add_gap(store: Store, account_id: str, gap_id: str | None = None, **changes: Any) -> str:
    gap = GapFlag(
        id=gap_id or f"gf_{account_id}_close",
        account=account_id,
        outcome="close_days",
        kind="stale_evidence",
        severity="high",
        message="The newest statement about closing the books is 120 days old.",
        next_action="Ask the champion to confirm this quarter's close time in writing.",
        risk="The CFO sees no current proof of the close-time promise at renewal.",
        owner=None,
        period=Q2,
    ).model_copy(update=changes)
    with store.session() as session:
        session.add(
            GapFlagRow(
                id=gap.id,
                account_id=account_id,
                outcome_id=gap.outcome,
                kind=gap.kind,
                severity=gap.severity,
                status=gap.status,
                as_of=AS_OF,
                payload=gap.model_dump(mode="json"),
            )
        )
    return gap.id
