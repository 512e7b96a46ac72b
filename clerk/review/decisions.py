"""Review decisions on drafts: approve, edit, reject, bulk approve, gap actions, audit trail.

Every decision is one transaction that changes the row and appends an ``audit_log`` entry
(who, when, before, after, reason). Rows carry a ``version`` (SQLAlchemy's version_id_col):
a decision names the version its reviewer saw, and a decision on a row someone else has
changed since raises :class:`Conflict` instead of overwriting their work. The version is
checked twice: against the value read here (the common case, a stale form) and by the
``UPDATE ... WHERE version = ?`` SQLAlchemy issues (two requests racing past the first check).

Permissions are checked here as well as in the routes, so the HTML pages, the JSON API and
the CLI cannot drift apart: a CSM changes only their own accounts; dismissing a gap flag
takes a manager.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from clerk.domain.models import GapFlag, ProofItem, Review, Source
from clerk.domain.vocabulary import DECIDED_STATUSES, OPEN_GAP_STATUSES, PENDING_STATUSES
from clerk.engine.verify import verify_item
from clerk.review.users import User
from clerk.store import Store
from clerk.store.db import read_rows
from clerk.store.rows import gap_from_row
from clerk.store.tables import (
    AccountRow,
    AuditRow,
    GapFlagRow,
    ProofItemRow,
    SourceRow,
    utcnow,
)
from clerk.sweep.screen import still_screened

# Reasons a reviewer picks from when rejecting; "other" needs free text.
REJECT_REASONS: dict[str, str] = {
    "wrong_number": "Wrong number",
    "not_customer_words": "Not the customer's words",
    "out_of_period": "Out of period",
    "duplicate": "Duplicate",
    "other": "Other",
}
ASSERTED_LABEL = "asserted by CSM"


class ReviewError(Exception):
    """Base of every refusal; ``status_code`` is what an HTTP route answers with."""

    status_code = 400


class NotFound(ReviewError):
    status_code = 404


class Forbidden(ReviewError):
    status_code = 403


class InvalidDecision(ReviewError):
    """The decision is not allowed as asked (missing reason, unverified draft, ...)."""

    status_code = 422


class NeedsAssertion(InvalidDecision):
    """An edited claim does not verify; saving it needs "asserted by CSM" and a reason."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(
            "The edited claim does not verify against the item's numbers and quotes: "
            + "; ".join(errors)
            + f'. Tick "{ASSERTED_LABEL}" and give a reason to save it anyway.'
        )
        self.errors = errors


class Conflict(ReviewError):
    """Someone changed the row after this reviewer loaded it."""

    status_code = 409

    def __init__(
        self,
        target_id: str,
        current_version: int,
        changed_by: str | None,
        changed_at: dt.datetime | None,
        kind: Literal["proof_item", "gap_flag"] = "proof_item",
    ) -> None:
        when = changed_at.strftime("%Y-%m-%d %H:%M UTC") if changed_at else "an unknown time"
        super().__init__(f"Changed by {changed_by or 'someone else'} at {when} — reload.")
        self.target_id = target_id
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.kind = kind


# --- reading rows as domain objects ------------------------------------------------------


def effective_item(row: ProofItemRow) -> ProofItem:
    """The item as a reviewer sees it: the CSM's edit over the draft, the row's status."""
    data = dict(row.edited) if row.edited else dict(row.payload)
    data.update(status=row.status, version=row.version, account=row.account_id)
    return ProofItem.model_validate(data)


def draft_item(row: ProofItemRow) -> ProofItem:
    """The item as the clerk drafted it (kept beside any edit)."""
    return ProofItem.model_validate(
        {**row.payload, "status": row.status, "version": row.version, "account": row.account_id}
    )


# Built once (the review page reads these on every load): no per-call statement building.
# Plain columns, not ORM objects: these rows are only read (about half the cost per query).
_SOURCES = select(
    SourceRow.id,
    SourceRow.account_id,
    SourceRow.kind,
    SourceRow.title,
    SourceRow.text,
    SourceRow.date,
    SourceRow.author,
    SourceRow.public,
    SourceRow.customer_spans,
    SourceRow.meta,
    SourceRow.content_hash,
).where(SourceRow.id.in_(bindparam("ids", expanding=True)))
_AUDIT = (
    select(
        AuditRow.target_type,
        AuditRow.target_id,
        AuditRow.action,
        AuditRow.actor,
        AuditRow.at,
        AuditRow.before,
        AuditRow.after,
        AuditRow.reason,
    )
    .where(AuditRow.target_id.in_(bindparam("ids", expanding=True)))
    .order_by(AuditRow.id)
)


def load_sources(
    session: Session, source_ids: Iterable[str], hashes: dict[str, str] | None = None
) -> dict[str, Source]:
    """The cited sources, by id, as domain objects (for verification and highlighting).
    ``hashes``, when given, receives each source's content hash from the same read."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    rows = read_rows(session, _SOURCES, {"ids": ids}).all()
    if hashes is not None:
        hashes.update((r.id, r.content_hash) for r in rows)
    return {
        r.id: Source.model_validate(
            {
                "id": r.id,
                "account_id": r.account_id,
                "kind": r.kind,
                "title": r.title,
                "text": r.text,
                "date": r.date,
                "author": r.author,
                "public": r.public,
                "customer_spans": r.customer_spans or [],
                "meta": r.meta or {},
            }
        )
        for r in rows
    }


def verify_edit(session: Session, item: ProofItem) -> list[str]:
    """Why an edited item does not verify (empty when it does).

    The whole item is checked, not only the new wording: a draft that was unverified because
    a quote is not in its source stays unverified however its claim is phrased.
    """
    sources = load_sources(session, [c.source for c in item.citations])
    return verify_item(item, sources) + still_screened(item)


# --- permission and locking helpers ------------------------------------------------------


def check_account(session: Session, account_id: str, actor: User) -> AccountRow:
    account = session.get(AccountRow, account_id)
    if account is None:
        raise NotFound(f"No account {account_id!r}.")
    if not actor.can_access(account.csm):
        raise Forbidden(f"{actor.email} may not see or change account {account_id!r}.")
    return account


def _last_change(session: Session, target_id: str) -> tuple[str | None, dt.datetime | None]:
    row = session.scalars(
        select(AuditRow).where(AuditRow.target_id == target_id).order_by(AuditRow.id.desc())
    ).first()
    return (row.actor, row.at) if row else (None, None)


def _conflict(
    session: Session,
    target_id: str,
    current_version: int,
    kind: Literal["proof_item", "gap_flag"],
) -> Conflict:
    actor, at = _last_change(session, target_id)
    return Conflict(target_id, current_version, actor, at, kind)


def _load_item(session: Session, item_id: str, actor: User, version: int | None) -> ProofItemRow:
    row = session.get(ProofItemRow, item_id)
    if row is None:
        raise NotFound(f"No proof item {item_id!r}.")
    check_account(session, row.account_id, actor)
    if version is not None and version != row.version:
        raise _conflict(session, item_id, row.version, "proof_item")
    return row


def _load_gap(session: Session, gap_id: str, actor: User, version: int | None) -> GapFlagRow:
    row = session.get(GapFlagRow, gap_id)
    if row is None:
        raise NotFound(f"No gap flag {gap_id!r}.")
    check_account(session, row.account_id, actor)
    if version is not None and version != row.version:
        raise _conflict(session, gap_id, row.version, "gap_flag")
    return row


def item_state(row: ProofItemRow) -> dict[str, Any]:
    """What an item's audit row records before and after a change."""
    item = effective_item(row)
    return {
        "status": row.status,
        "claim": item.claim,
        "asserted_by_csm": item.asserted_by_csm,
        "version": row.version,
    }


def _gap_state(row: GapFlagRow) -> dict[str, Any]:
    return {
        "status": row.status,
        "owner": row.owner,
        "next_action": row.next_action,
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "version": row.version,
    }


def _commit_change(
    session: Session,
    row: ProofItemRow | GapFlagRow,
    *,
    target_type: Literal["proof_item", "gap_flag"],
    action: str,
    actor: User,
    before: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Flush the change (the versioned UPDATE) and append its audit entry."""
    now = utcnow()
    if isinstance(row, ProofItemRow):
        row.reviewed_by, row.reviewed_at = actor.email, now
    row.updated_at = now
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        current = session.get(type(row), row.id)
        version = int(getattr(current, "version", 0))
        raise _conflict(session, row.id, version, target_type) from None
    after = item_state(row) if isinstance(row, ProofItemRow) else _gap_state(row)
    session.add(
        AuditRow(
            target_type=target_type,
            target_id=row.id,
            account_id=row.account_id,
            action=action,
            actor=actor.email,
            at=now,
            before=before,
            after=after,
            reason=reason,
        )
    )


# --- proof item decisions ------------------------------------------------------------------


def approve(store: Store, item_id: str, *, actor: User, version: int) -> ProofItem:
    """Approve a pending draft as written. Unverified drafts are refused: edit or reject."""
    with store.session() as session:
        row = _load_item(session, item_id, actor, version)
        if row.status == "unverified":
            raise InvalidDecision(
                "This draft failed verification and cannot be approved as drafted: "
                "edit it (its claim is re-verified) or reject it."
            )
        if row.status != "pending":
            raise InvalidDecision(f"Only pending items can be approved; this one is {row.status}.")
        before = item_state(row)
        row.status = "approved"
        _commit_change(
            session, row, target_type="proof_item", action="approve", actor=actor, before=before
        )
        return effective_item(row)


def edit(
    store: Store,
    item_id: str,
    *,
    actor: User,
    version: int,
    claim: str,
    asserted: bool = False,
    reason: str | None = None,
) -> ProofItem:
    """Approve with a new claim text; citations and calculation stay as drafted.

    The new claim is re-verified. If it fails, it is saved only when the reviewer asserts it
    (``asserted`` and a non-empty ``reason``); the packet then shows "asserted by CSM".
    """
    claim = " ".join(claim.split())
    reason = (reason or "").strip() or None
    if not claim:
        raise InvalidDecision("The claim cannot be empty.")
    with store.session() as session:
        row = _load_item(session, item_id, actor, version)
        if row.status not in PENDING_STATUSES:
            raise InvalidDecision(f"Only pending items can be edited; this one is {row.status}.")
        draft = draft_item(row)
        edited = draft.model_copy(update={"claim": claim, "status": "edited"})
        errors = verify_edit(session, edited)
        if errors and not (asserted and reason):
            raise NeedsAssertion(errors)
        before = item_state(row)
        edited = edited.model_copy(
            update={
                "verification_errors": errors,
                "asserted_by_csm": bool(errors),
                "asserted_reason": reason if errors else None,
            }
        )
        row.edited = edited.model_dump(mode="json", exclude={"version"})
        row.status = "edited"
        _commit_change(
            session,
            row,
            target_type="proof_item",
            action="edit_asserted" if errors else "edit",
            actor=actor,
            before=before,
            reason=reason,
        )
        return effective_item(row)


def reject(
    store: Store, item_id: str, *, actor: User, version: int, reason: str, note: str | None = None
) -> ProofItem:
    """Reject with a reason from :data:`REJECT_REASONS` (``other`` needs a note)."""
    note = (note or "").strip() or None
    if reason not in REJECT_REASONS:
        raise InvalidDecision(f"Pick a reason: {', '.join(REJECT_REASONS.values())}.")
    if reason == "other" and not note:
        raise InvalidDecision('Rejecting for "Other" needs a note saying why.')
    text = REJECT_REASONS[reason] + (f": {note}" if note else "")
    with store.session() as session:
        row = _load_item(session, item_id, actor, version)
        if row.status not in PENDING_STATUSES:
            raise InvalidDecision(f"Only pending items can be rejected; this one is {row.status}.")
        before = item_state(row)
        row.status = "rejected"
        row.reject_reason = text
        _commit_change(
            session,
            row,
            target_type="proof_item",
            action="reject",
            actor=actor,
            before=before,
            reason=text,
        )
        return effective_item(row)


def reopen(store: Store, item_id: str, *, actor: User, version: int, reason: str) -> ProofItem:
    """Take back a decision: the item returns to the queue (the audit keeps the history)."""
    reason = reason.strip()
    if not reason:
        raise InvalidDecision("Reopening needs a reason.")
    with store.session() as session:
        row = _load_item(session, item_id, actor, version)
        if row.status not in DECIDED_STATUSES:
            raise InvalidDecision(f"Only decided items can be reopened; this one is {row.status}.")
        before = item_state(row)
        row.status = "unverified" if draft_item(row).verification_errors else "pending"
        row.edited = None
        row.reject_reason = None
        _commit_change(
            session,
            row,
            target_type="proof_item",
            action="reopen",
            actor=actor,
            before=before,
            reason=reason,
        )
        return effective_item(row)


@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def bulk_approve(store: Store, selections: Iterable[tuple[str, int]], *, actor: User) -> BulkResult:
    """Approve each (item id, version); one item's conflict or refusal never blocks the rest."""
    result = BulkResult()
    for item_id, version in selections:
        try:
            approve(store, item_id, actor=actor, version=version)
        except Conflict as exc:
            result.conflicts.append(exc)
        except (InvalidDecision, NotFound) as exc:
            result.refused[item_id] = str(exc)
        else:
            result.approved.append(item_id)
    return result


# --- gap flag actions -------------------------------------------------------------------


def update_gap(
    store: Store,
    gap_id: str,
    *,
    actor: User,
    version: int,
    action: Literal["assign", "next_action", "acknowledge", "dismiss", "reopen"],
    owner: str | None = None,
    next_action: str | None = None,
    due_date: dt.date | None = None,
    reason: str | None = None,
) -> GapFlag:
    """One audited action on a gap flag. Dismissing needs a manager and a reason."""
    reason = (reason or "").strip() or None
    with store.session() as session:
        row = _load_gap(session, gap_id, actor, version)
        before = _gap_state(row)
        if action == "assign":
            owner = (owner or "").strip().lower()
            if "@" not in owner:
                raise InvalidDecision("The owner must be an email address.")
            row.owner = owner
        elif action == "next_action":
            next_action = (next_action or "").strip()
            if not next_action:
                raise InvalidDecision("Say what the next action is.")
            row.next_action = next_action
            row.due_date = due_date
        elif action == "acknowledge":
            if row.status != "open":
                raise InvalidDecision(f"Only open flags can be acknowledged; this is {row.status}.")
            row.status = "acknowledged"
        elif action == "dismiss":
            if not actor.is_manager:
                raise Forbidden("Only a manager can dismiss a gap flag.")
            if not reason:
                raise InvalidDecision("Dismissing a gap flag needs a reason.")
            if row.status not in OPEN_GAP_STATUSES:
                raise InvalidDecision(f"Only open flags can be dismissed; this is {row.status}.")
            row.status = "dismissed"
            row.dismiss_reason = reason
        elif action == "reopen":
            if row.status != "dismissed" and row.status != "acknowledged":
                raise InvalidDecision(f"Only dismissed or acknowledged flags reopen; {row.status}.")
            row.status = "open"
            row.dismiss_reason = None
        else:  # pragma: no cover - the Literal type rules this out for typed callers
            raise InvalidDecision(f"Unknown gap action {action!r}.")
        _commit_change(
            session,
            row,
            target_type="gap_flag",
            action=action,
            actor=actor,
            before=before,
            reason=reason,
        )
        return gap_from_row(row)


# --- audit trail ---------------------------------------------------------------------------


def audit_trail(session: Session, target_ids: Iterable[str]) -> dict[str, list[Review]]:
    """Each target's decisions, oldest first, in one query."""
    ids = list(target_ids)
    trail: dict[str, list[Review]] = defaultdict(list)
    if not ids:
        return trail
    rows = read_rows(session, _AUDIT, {"ids": ids}).all()
    for r in rows:
        trail[r.target_id].append(
            Review.model_validate(
                {
                    "target_type": r.target_type,
                    "target_id": r.target_id,
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "before": r.before,
                    "after": r.after,
                    "reason": r.reason,
                }
            )
        )
    return trail
