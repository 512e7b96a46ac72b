"""The JSON API under /api: the same reads and decisions as the pages, same permissions.

Authentication: HTTP Basic (a user's email and password) or the browser's session cookie
with the ``X-CSRF-Token`` header on state-changing requests (see review_ui.security).
Errors are ``{"detail": ...}``; a 409 adds ``current_version``, ``changed_by`` and
``changed_at`` so a client can reload and retry deliberately.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from clerk.domain.models import GapFlag, Packet, ProofItem, Review
from clerk.packet.assemble import draft_packet, get_packet, publish_packet, published_packets
from clerk.review import decisions as review
from clerk.review.users import User
from review_ui.grid import GridFilters, manager_page
from review_ui.queries import account_page, account_summaries, gap_entry, item_entry
from review_ui.security import api_user, get_store

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not your account, not your role, or a missing CSRF token"},
    404: {"description": "No such account, item, gap flag or packet"},
}
_DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    409: {"description": "Changed by someone else since the given version: reload"},
    422: {"description": "Decision refused (missing reason, claim does not verify, ...)"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=_ERRORS)

Version = Field(ge=1, le=2**31 - 1, description="The version of the row the client last read.")
Id = Annotated[str, Path(max_length=200)]


class Me(BaseModel):
    email: str
    role: str


class AccountOut(BaseModel):
    id: str
    name: str
    csm: str | None
    renewal: dt.date | None
    pending: int
    pending_over_7_days: int
    open_gaps: int
    outcomes: int
    proven_outcomes: int
    coverage: float | None = Field(description="Share of outcomes with approved/edited proof.")


class AccountItems(BaseModel):
    """FORMATS.md §8: the account's drafts and gap flags (superseded drafts left out)."""

    account: str
    as_of: dt.date | None
    proof_items: list[ProofItem]
    gap_flags: list[GapFlag]


class ItemDetail(BaseModel):
    item: ProofItem
    draft: ProofItem | None = Field(description="The clerk's draft, when the item was edited.")
    audit: list[Review]


class GapDetail(BaseModel):
    gap: GapFlag
    audit: list[Review]


class Approve(BaseModel):
    version: int = Version


class Edit(BaseModel):
    version: int = Version
    claim: str = Field(min_length=1, max_length=2000)
    asserted: bool = Field(False, description="Save even if the claim does not verify.")
    reason: str | None = Field(None, max_length=2000, description="Required when asserted.")


class Reject(BaseModel):
    version: int = Version
    reason: Literal["wrong_number", "not_customer_words", "out_of_period", "duplicate", "other"]
    note: str | None = Field(None, max_length=2000)


class Reopen(BaseModel):
    version: int = Version
    reason: str = Field(min_length=1, max_length=2000)


class Selection(BaseModel):
    id: str = Field(max_length=200)
    version: int = Version


class BulkApprove(BaseModel):
    items: list[Selection] = Field(max_length=1000)


class BulkOut(BaseModel):
    approved: list[str]
    conflicts: list[dict[str, Any]]
    refused: dict[str, str]


class Assign(BaseModel):
    version: int = Version
    owner: str = Field(min_length=3, max_length=255)


class NextAction(BaseModel):
    version: int = Version
    next_action: str = Field(min_length=1, max_length=2000)
    due_date: dt.date | None = None


class Acknowledge(BaseModel):
    version: int = Version


class Dismiss(BaseModel):
    version: int = Version
    reason: str = Field(min_length=1, max_length=2000)


class PacketVersion(BaseModel):
    version: int
    as_of: dt.date
    published_at: dt.datetime
    published_by: str


@router.get("/me", response_model=Me)
def me(user: User = Depends(api_user)) -> Me:
    return Me(email=user.email, role=user.role)


@router.get("/accounts", response_model=list[AccountOut])
def accounts(request: Request, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    """The accounts the caller may see, soonest renewal first."""
    with get_store(request).session() as session:
        return [s.as_json() for s in account_summaries(session, user)]


@router.get("/accounts/{account_id}/items", response_model=AccountItems)
def account_items(
    request: Request,
    account_id: Id,
    as_of: dt.date | None = Query(None, description="Date to read at; default: newest sweep."),
    user: User = Depends(api_user),
) -> AccountItems:
    """The account's current proof (clerk.review.current) at ``as_of``."""
    with get_store(request).session() as session:
        page = account_page(session, account_id, user, as_of=as_of, page_size=0)
    return AccountItems(
        account=account_id,
        as_of=page.as_of,
        proof_items=[e.item for e in page.queue + page.decided],
        gap_flags=[g.gap for g in page.gaps + page.closed_gaps],
    )


@router.get("/items/{item_id}", response_model=ItemDetail)
def item(request: Request, item_id: Id, user: User = Depends(api_user)) -> ItemDetail:
    with get_store(request).session() as session:
        entry, _ = item_entry(session, item_id, user)
    return ItemDetail(item=entry.item, draft=entry.draft, audit=entry.audit)


@router.post("/items/{item_id}/approve", response_model=ProofItem, responses=_DECISION_ERRORS)
def approve(
    request: Request, body: Approve, item_id: Id, user: User = Depends(api_user)
) -> ProofItem:
    return review.approve(get_store(request), item_id, actor=user, version=body.version)


@router.post("/items/{item_id}/edit", response_model=ProofItem, responses=_DECISION_ERRORS)
def edit(request: Request, body: Edit, item_id: Id, user: User = Depends(api_user)) -> ProofItem:
    """Approve with new wording; a claim that does not verify needs asserted + reason."""
    return review.edit(
        get_store(request),
        item_id,
        actor=user,
        version=body.version,
        claim=body.claim,
        asserted=body.asserted,
        reason=body.reason,
    )


@router.post("/items/{item_id}/reject", response_model=ProofItem, responses=_DECISION_ERRORS)
def reject(
    request: Request, body: Reject, item_id: Id, user: User = Depends(api_user)
) -> ProofItem:
    return review.reject(
        get_store(request),
        item_id,
        actor=user,
        version=body.version,
        reason=body.reason,
        note=body.note,
    )


@router.post("/items/{item_id}/reopen", response_model=ProofItem, responses=_DECISION_ERRORS)
def reopen(
    request: Request, body: Reopen, item_id: Id, user: User = Depends(api_user)
) -> ProofItem:
    return review.reopen(
        get_store(request), item_id, actor=user, version=body.version, reason=body.reason
    )


@router.post(
    "/accounts/{account_id}/bulk-approve", response_model=BulkOut, responses=_DECISION_ERRORS
)
def bulk_approve(
    request: Request, body: BulkApprove, account_id: Id, user: User = Depends(api_user)
) -> BulkOut:
    store = get_store(request)
    with store.session() as session:
        review.check_account(session, account_id, user)
    result = review.bulk_approve(store, [(s.id, s.version) for s in body.items], actor=user)
    return BulkOut(
        approved=result.approved,
        conflicts=[
            {"id": c.target_id, "current_version": c.current_version, "changed_by": c.changed_by}
            for c in result.conflicts
        ],
        refused=result.refused,
    )


@router.get("/gaps/{gap_id}", response_model=GapDetail)
def gap(request: Request, gap_id: Id, user: User = Depends(api_user)) -> GapDetail:
    with get_store(request).session() as session:
        entry = gap_entry(session, gap_id, user)
    return GapDetail(gap=entry.gap, audit=entry.audit)


@router.post("/gaps/{gap_id}/assign", response_model=GapFlag, responses=_DECISION_ERRORS)
def assign(request: Request, body: Assign, gap_id: Id, user: User = Depends(api_user)) -> GapFlag:
    return review.update_gap(
        get_store(request),
        gap_id,
        actor=user,
        version=body.version,
        action="assign",
        owner=body.owner,
    )


@router.post("/gaps/{gap_id}/next-action", response_model=GapFlag, responses=_DECISION_ERRORS)
def next_action(
    request: Request, body: NextAction, gap_id: Id, user: User = Depends(api_user)
) -> GapFlag:
    return review.update_gap(
        get_store(request),
        gap_id,
        actor=user,
        version=body.version,
        action="next_action",
        next_action=body.next_action,
        due_date=body.due_date,
    )


@router.post("/gaps/{gap_id}/acknowledge", response_model=GapFlag, responses=_DECISION_ERRORS)
def acknowledge(
    request: Request, body: Acknowledge, gap_id: Id, user: User = Depends(api_user)
) -> GapFlag:
    return review.update_gap(
        get_store(request), gap_id, actor=user, version=body.version, action="acknowledge"
    )


@router.post("/gaps/{gap_id}/dismiss", response_model=GapFlag, responses=_DECISION_ERRORS)
def dismiss(request: Request, body: Dismiss, gap_id: Id, user: User = Depends(api_user)) -> GapFlag:
    """Managers only: dismiss a gap flag with a reason (kept in the audit trail)."""
    return review.update_gap(
        get_store(request),
        gap_id,
        actor=user,
        version=body.version,
        action="dismiss",
        reason=body.reason,
    )


@router.get("/manager/grid")
def grid(
    request: Request,
    csm: str | None = None,
    renewal_within: int | None = None,
    gap_kind: str | None = None,
    severity: str | None = None,
    stale_pending: bool = False,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    """Managers only: accounts x outcomes with cell states, and team totals."""
    if not user.is_manager:
        raise HTTPException(403, "The team view is for managers.")
    if renewal_within is not None and abs(renewal_within) > 100_000:
        raise HTTPException(422, "renewal_within is out of range")
    filters = GridFilters(csm, renewal_within, gap_kind, severity, stale_pending)
    with get_store(request).session() as session:
        page = manager_page(session, user, filters)
    return {
        "columns": [{"id": o, "title": t} for o, t in page.columns],
        "rows": [
            {
                "account": r.summary.as_json(),
                "cells": {
                    o: {
                        "state": c.state,
                        "title": c.title,
                        "category": c.category,
                        "pending": c.pending,
                        "gaps": [{"kind": k, "severity": s} for k, s in c.gaps],
                    }
                    for o, c in r.cells.items()
                },
                "account_gaps": [{"kind": k, "severity": s} for k, s in r.account_gaps],
            }
            for r in page.rows
        ],
        "totals": {**vars(page.totals), "coverage": page.totals.coverage},
    }


@router.get("/accounts/{account_id}/packet", response_model=Packet)
def packet(
    request: Request,
    account_id: Id,
    as_of: dt.date | None = Query(None, description="Date to read at; default: newest sweep."),
    user: User = Depends(api_user),
) -> Packet:
    """The packet as it would be published now (unpublished: no published_at)."""
    return draft_packet(get_store(request), account_id, actor=user, as_of=as_of)


@router.post("/accounts/{account_id}/packet/publish", response_model=Packet, responses=_ERRORS)
def publish(
    request: Request,
    account_id: Id,
    as_of: dt.date | None = Query(None, description="Date to read at; default: newest sweep."),
    user: User = Depends(api_user),
) -> Packet:
    """Publish the current packet as the next immutable version."""
    return publish_packet(get_store(request), account_id, actor=user, as_of=as_of)


@router.get("/accounts/{account_id}/packets", response_model=list[PacketVersion])
def packets(request: Request, account_id: Id, user: User = Depends(api_user)) -> list[Any]:
    return published_packets(get_store(request), account_id, actor=user)


@router.get("/accounts/{account_id}/packets/{version}", response_model=Packet)
def packet_version(
    request: Request,
    account_id: Id,
    version: int = Path(ge=1, le=2**31 - 1),
    user: User = Depends(api_user),
) -> Packet:
    return get_packet(get_store(request), account_id, version, actor=user)
