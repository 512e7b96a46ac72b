"""Stored drafts: proof items and gap flags, their stable ids, and the supersede rules.

Ids derive from what a draft rests on — (account, outcome, kind, period, evidence key) — so a
re-run finds its own earlier work instead of adding twins. A *slot* is (outcome, kind, period):
when a sweep drafts a slot anew, only the slot's ``pending`` / ``unverified`` drafts whose id did
not come back are ``superseded``; ``approved``, ``edited`` and ``rejected`` items are never
touched. Gap flags that a sweep no longer raises become ``resolved`` (unless ``dismissed``);
a resolved flag raised again is ``open`` again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.models import GapFlag, Period, ProofItem
from clerk.store.tables import GapFlagRow, ProofItemRow, utcnow

REVIEWED = frozenset({"approved", "edited", "rejected"})
REPLACEABLE = frozenset({"pending", "unverified"})
Slot = tuple[str | None, str, dt.date | None, dt.date | None]  # outcome, kind, start, end
_KIND_ORDER = {"calculation": 0, "customer_statement": 1, "payback": 2}


def digest(*parts: Any) -> str:
    """A short, stable hash of JSON-able parts."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _period_key(period: Period | None) -> tuple[str | None, str | None]:
    if period is None:
        return None, None
    return period.start.isoformat(), period.end.isoformat()


def evidence_key(item: ProofItem, drafter: str) -> str:
    """What an item rests on: its numbers and sources, or its quotes; never its wording.

    The drafter's name is part of it so switching drafters redrafts pending items.
    """
    calc = item.calculation
    calc_key = None
    if calc is not None:
        calc_key = [calc.formula, [(i.name, i.value, i.source, i.cited_as) for i in calc.inputs]]
    cites = sorted((c.source, c.start, c.end) for c in item.citations)
    return digest(drafter, calc_key, cites, item.target, item.delivered)


def item_id(item: ProofItem, key: str) -> str:
    """``pi_`` + hash of (account, outcome, kind, period, evidence key)."""
    return "pi_" + digest(item.account, item.outcome, item.kind, _period_key(item.period), key)


def gap_id(account: str, outcome: str | None, kind: str, period: Period | None, key: str) -> str:
    """``gf_`` + hash of (account, outcome, kind, period, evidence key).

    The key names what the gap is about (an input, the cited sources), not the current
    numbers, so a shortfall that deepens stays the same flag.
    """
    return "gf_" + digest(account, outcome, kind, _period_key(period), key)


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

    existing = {
        row.id: row
        for row in session.scalars(
            select(ProofItemRow).where(ProofItemRow.account_id == account_id)
        )
    }
    for item in items:
        row = existing.get(item.id)
        payload = item.model_dump(mode="json")
        if row is None:
            session.add(
                ProofItemRow(
                    id=item.id,
                    account_id=account_id,
                    outcome_id=item.outcome,
                    kind=item.kind,
                    as_of=as_of,
                    period_start=item.period.start if item.period else None,
                    period_end=item.period.end if item.period else None,
                    status=item.status,
                    drafted_by=item.drafted_by,
                    evidence_key=(evidence_keys or {}).get(item.id, item.id[3:]),
                    payload=payload,
                    created_at=now,
                    updated_at=now,
                )
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

    for row in existing.values():
        slot = match((row.outcome_id, row.kind, row.period_start, row.period_end))
        if slot is None or row.status not in REPLACEABLE:
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
    rows = {
        row.id: row
        for row in session.scalars(select(GapFlagRow).where(GapFlagRow.account_id == account_id))
    }
    raised = {g.id for g in gaps}
    for gap in gaps:
        row = rows.get(gap.id)
        payload = gap.model_dump(mode="json")
        if row is None:
            session.add(
                GapFlagRow(
                    id=gap.id,
                    account_id=account_id,
                    outcome_id=gap.outcome,
                    kind=gap.kind,
                    severity=gap.severity,
                    status="open",
                    as_of=as_of,
                    payload=payload,
                    owner=gap.owner,
                    next_action=gap.next_action,
                    due_date=gap.due_date,
                    created_at=now,
                    updated_at=now,
                )
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
    for row in rows.values():
        # A sweep of an earlier as-of (a backfill) must not resolve what a later one raised.
        if row.id in raised or row.status not in {"open", "acknowledged"} or row.as_of > as_of:
            continue
        row.status, row.resolved_at, row.updated_at = "resolved", now, now
        if _reports_on(row, periods):
            stats.resolved_gaps.append(row.id)
        else:
            # The sweep reports on a later period now (or the outcome left the value case):
            # the flag is closed as outdated, not announced as fixed.
            row.payload = {**row.payload, "resolution": OUTDATED}


OUTDATED = "outdated: the sweep now reports on a later period"


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


def item_from_row(row: ProofItemRow) -> ProofItem:
    """The stored draft with the row's status (the row is the truth for status)."""
    item = ProofItem.model_validate(row.payload)
    item.status = row.status  # type: ignore[assignment]
    return item


def gap_from_row(row: GapFlagRow) -> GapFlag:
    """The gap flag with the reviewers' owner, next action, due date and status applied."""
    data = dict(row.payload)
    data.update(status=row.status, version=row.version, account=row.account_id)
    if row.owner is not None:
        data["owner"] = row.owner
    if row.next_action is not None:
        data["next_action"] = row.next_action
    if row.due_date is not None:
        data["due_date"] = row.due_date.isoformat()
    return GapFlag.model_validate(data)


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
    out.sort(key=lambda r: (order[r.outcome_id], _KIND_ORDER.get(r.kind, 9), r.created_at, r.id))
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


_ITEM_KEYS = (
    "id",
    "outcome",
    "kind",
    "claim",
    "period",
    "delivered",
    "target",
    "unit",
    "attainment",
    "calculation",
    "citations",
    "evidence_category",
    "confidence",
    "status",
    "drafted_by",
)
_GAP_KEYS = (
    "id",
    "outcome",
    "kind",
    "severity",
    "message",
    "next_action",
    "risk",
    "owner",
    "status",
)


def item_document(row: ProofItemRow) -> dict[str, Any]:
    """One proof item in the FORMATS §8 shape.

    The draft is shown as the clerk wrote it with the row's status; an ``edited`` item carries
    the CSM's version beside it under ``edited``, a rejected one its ``reject_reason``.
    """
    full = item_from_row(row).model_dump(mode="json")
    out = {k: full[k] for k in _ITEM_KEYS}
    if out["period"] is not None:
        out["period"] = {"start": out["period"]["start"], "end": out["period"]["end"]}
    if row.kind == "payback":
        out["forecast"] = full.get("forecast")
    if full.get("confidence_reasons"):
        out["confidence_reasons"] = full["confidence_reasons"]
    if row.status == "unverified":
        out["verification_errors"] = full.get("verification_errors", [])
    if row.edited is not None:
        out["edited"] = row.edited
    if row.reject_reason:
        out["reject_reason"] = row.reject_reason
    return out


def gap_document(row: GapFlagRow) -> dict[str, Any]:
    """One gap flag in the FORMATS §8 shape; citations when it rests on evidence."""
    full = gap_from_row(row).model_dump(mode="json")
    out = {k: full[k] for k in _GAP_KEYS}
    if full.get("citations"):
        out["citations"] = full["citations"]
    if full.get("sources"):
        out["sources"] = full["sources"]
    if full.get("period"):
        out["period"] = {"start": full["period"]["start"], "end": full["period"]["end"]}
    return out
