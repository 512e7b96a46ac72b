"""Stored drafts: proof items and gap flags, their stable ids, and the supersede rules.

Ids derive from what a draft rests on — (account, outcome, kind, period, evidence key) — so a
re-run finds its own earlier work instead of adding twins. A *slot* is (outcome, kind, period):
when a sweep drafts a slot anew, only the slot's ``pending`` / ``unverified`` drafts whose id did
not come back are ``superseded``; ``approved``, ``edited`` and ``rejected`` items are never
touched. Gap flags of the periods a sweep reports on that it no longer raises become
``resolved`` (unless ``dismissed``); flags of earlier periods stay with their period; a
resolved flag raised again is ``open`` again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from clerk.domain.models import GapFlag, ProofItem
from clerk.domain.vocabulary import OPEN_GAP_STATUSES, PENDING_STATUSES
from clerk.store.tables import GapFlagRow, ProofItemRow, utcnow

Slot = tuple[str | None, str, dt.date | None, dt.date | None]  # outcome, kind, start, end

# An account's stored items and flags: built once (coercing a fresh select per account cost
# more than running it), the account bound as a parameter.
_ITEMS_OF = select(ProofItemRow).where(ProofItemRow.account_id == bindparam("account_id"))
_GAPS_OF = select(GapFlagRow).where(GapFlagRow.account_id == bindparam("account_id"))


def slot_of(item: ProofItem) -> Slot:
    period = item.period
    return (
        item.outcome,
        item.kind,
        period.start if period else None,
        period.end if period else None,
    )


@dataclass
class SaveStats:
    """What storing one account's drafts changed."""

    new_items: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    new_gaps: list[str] = field(default_factory=list)  # inserted or re-opened
    resolved_gaps: list[str] = field(default_factory=list)


def save_drafts(
    session: Session,
    account_id: str,
    as_of: dt.date,
    items: list[ProofItem],
    gaps: list[GapFlag],
    slots: Iterable[Slot],
    evidence_keys: dict[str, str] | None = None,
) -> SaveStats:
    """Store one account's sweep result; ``slots`` are all slots the sweep considered.

    ``evidence_keys`` maps item ids to the evidence key they were derived from.

    Runs inside the caller's transaction, so an interrupted sweep leaves the account as it
    was before or after, never half-written.
    """
    stats = SaveStats()
    now = utcnow()
    considered = set(slots) | {slot_of(i) for i in items}

    def match(slot: Slot) -> Slot | None:
        # An open slot (end None) is a contract-to-date period: its end moves with as-of, so
        # last week's draft of it is in the same slot as this week's.
        open_slot = (slot[0], slot[1], slot[2], None)
        if open_slot in considered:
            return open_slot
        return slot if slot in considered else None

    new_by_slot: dict[Slot | None, list[str]] = {}
    for item in items:
        new_by_slot.setdefault(match(slot_of(item)), []).append(item.id)

    existing = {row.id: row for row in session.scalars(_ITEMS_OF, {"account_id": account_id})}
    confirmed: list[str] = []
    fresh_rows: list[dict[str, object]] = []
    for item in items:
        row = existing.get(item.id)
        payload = item.model_dump(mode="json")
        if row is not None and (row.last_confirmed is None or row.last_confirmed < as_of):
            confirmed.append(item.id)
        if row is None:
            fresh_rows.append(
                {
                    "id": item.id,
                    "account_id": account_id,
                    "outcome_id": item.outcome,
                    "kind": item.kind,
                    "as_of": as_of,
                    "last_confirmed": as_of,
                    "period_start": item.period.start if item.period else None,
                    "period_end": item.period.end if item.period else None,
                    "status": item.status,
                    "drafted_by": item.drafted_by,
                    "evidence_key": (evidence_keys or {}).get(item.id, item.id[3:]),
                    "payload": payload,
                    "created_at": now,
                    "updated_at": now,
                    "superseded_by": None,
                }
            )
            stats.new_items.append(item.id)
        elif row.status == "superseded":
            # The evidence came back to what this draft rested on: it is current again.
            row.status, row.superseded_by, row.payload, row.updated_at = (
                item.status,
                None,
                payload,
                now,
            )
            stats.new_items.append(item.id)

    if fresh_rows:
        # One multi-row INSERT on the session's connection (same transaction), not an ORM
        # flush per object: storing was a fifth of a first sweep.
        session.connection().execute(insert(ProofItemRow), fresh_rows)
    if confirmed:
        # Found again on the same evidence: the draft (and any decision on it) stays current.
        # A bulk UPDATE leaves the row's version alone, so a reviewer's open form stays valid.
        session.execute(
            update(ProofItemRow)
            .where(ProofItemRow.id.in_(confirmed))
            .values(last_confirmed=as_of)
            .execution_options(synchronize_session=False)
        )
    for row in existing.values():
        slot = match((row.outcome_id, row.kind, row.period_start, row.period_end))
        if slot is None or row.status not in PENDING_STATUSES:
            continue
        fresh = new_by_slot.get(slot, [])
        if row.id in fresh:
            continue
        row.status = "superseded"
        row.superseded_by = fresh[0] if fresh else None
        row.updated_at = now
        stats.superseded.append(row.id)

    periods = {(o, start, end) for o, _kind, start, end in considered}
    _save_gaps(session, account_id, as_of, gaps, stats, now, periods)
    return stats


def _save_gaps(
    session: Session,
    account_id: str,
    as_of: dt.date,
    gaps: list[GapFlag],
    stats: SaveStats,
    now: dt.datetime,
    periods: set[tuple[str | None, dt.date | None, dt.date | None]],
) -> None:
    rows = {row.id: row for row in session.scalars(_GAPS_OF, {"account_id": account_id})}
    raised = {g.id for g in gaps}
    fresh_rows: list[dict[str, object]] = []
    for gap in gaps:
        row = rows.get(gap.id)
        payload = gap.model_dump(mode="json")
        if row is None:
            fresh_rows.append(
                {
                    "id": gap.id,
                    "account_id": account_id,
                    "outcome_id": gap.outcome,
                    "kind": gap.kind,
                    "severity": gap.severity,
                    "status": "open",
                    "as_of": as_of,
                    "payload": payload,
                    "owner": gap.owner,
                    "next_action": gap.next_action,
                    "due_date": gap.due_date,
                    "created_at": now,
                    "updated_at": now,
                    "resolved_at": None,
                }
            )
            stats.new_gaps.append(gap.id)
            continue
        if row.status == "dismissed":
            continue  # a manager decided this flag does not matter; the sweep respects it
        if row.status == "resolved":
            row.status, row.resolved_at = "open", None
            stats.new_gaps.append(gap.id)
        changed = {k: v for k, v in payload.items() if k != "status"} != {
            k: v for k, v in row.payload.items() if k != "status"
        }
        if changed or row.as_of < as_of:
            row.payload, row.severity, row.owner = payload, gap.severity, gap.owner
            row.next_action, row.as_of, row.updated_at = gap.next_action, max(row.as_of, as_of), now
    if fresh_rows:
        session.connection().execute(insert(GapFlagRow), fresh_rows)
    for row in rows.values():
        # A sweep of an earlier as-of (a backfill) must not resolve what a later one raised.
        if row.id in raised or row.status not in OPEN_GAP_STATUSES or row.as_of > as_of:
            continue
        if not _reports_on(row, periods):
            # The sweep reports on a later period now (or the outcome left the value case):
            # the flag still describes its own period, which the period selector and that
            # period's packet read back (clerk.review.current), so it is left as it is.
            continue
        row.status, row.resolved_at, row.updated_at = "resolved", now, now
        stats.resolved_gaps.append(row.id)


def _reports_on(
    row: GapFlagRow, periods: set[tuple[str | None, dt.date | None, dt.date | None]]
) -> bool:
    """True when the sweep considered the flag's outcome and period (account flags: always)."""
    period = row.payload.get("period")
    if row.outcome_id is None or not period:
        return True
    start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    return (row.outcome_id, start, end) in periods or (row.outcome_id, start, None) in periods


# --- reading ------------------------------------------------------------------------------
