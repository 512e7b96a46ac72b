"""Decisions on one proof item. htmx gets the item's card back; plain forms a redirect.

Every form carries the item version its reviewer saw; a stale version is a 409 with the
conflict partial (see clerk.review.decisions.Conflict). A refused decision (missing reason, claim
that does not verify) re-renders the card with the message and the reviewer's input kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.review import decisions as review
from clerk.review.users import User
from review_ui.queries import account_summaries, item_entry
from review_ui.rendering import is_htmx, render
from review_ui.security import get_store, page_user

router = APIRouter(include_in_schema=False)


def card(
    request: Request, item_id: str, user: User, status_code: int = 200, **extra: Any
) -> Response:
    with get_store(request).session() as session:
        entry, page = item_entry(session, item_id, user)
    return render(request, "_item.html", status_code=status_code, entry=entry, page=page, **extra)


def _done(request: Request, item_id: str, user: User) -> Response:
    if is_htmx(request):
        with get_store(request).session() as session:
            entry, _ = item_entry(session, item_id, user)
            stats = account_summaries(session, user, only=entry.item.account)
        return card(request, item_id, user, stats=stats[0] if stats else None)
    with get_store(request).session() as session:
        entry, _ = item_entry(session, item_id, user)
    return RedirectResponse(f"/accounts/{entry.item.account}#item-{item_id}", status_code=303)


def _refused(
    request: Request, item_id: str, user: User, exc: review.InvalidDecision, **form: Any
) -> Response:
    if not is_htmx(request):
        return render(request, "error.html", status_code=exc.status_code, error=exc)
    return card(request, item_id, user, status_code=exc.status_code, error=str(exc), form=form)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_card(request: Request, item_id: str, user: User = Depends(page_user)) -> Response:
    return card(request, item_id, user)


@router.post("/items/{item_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request, item_id: str, version: int = Form(...), user: User = Depends(page_user)
) -> Response:
    try:
        review.approve(get_store(request), item_id, actor=user, version=version)
    except review.InvalidDecision as exc:
        return _refused(request, item_id, user, exc)
    return _done(request, item_id, user)


@router.post("/items/{item_id}/edit", response_class=HTMLResponse)
def edit(
    request: Request,
    item_id: str,
    version: int = Form(...),
    claim: str = Form(...),
    asserted: bool = Form(False),
    reason: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    try:
        review.edit(
            get_store(request),
            item_id,
            actor=user,
            version=version,
            claim=claim,
            asserted=asserted,
            reason=reason,
        )
    except review.InvalidDecision as exc:
        return _refused(
            request, item_id, user, exc, open="edit", claim=claim, asserted=asserted, reason=reason
        )
    return _done(request, item_id, user)


@router.post("/items/{item_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    item_id: str,
    version: int = Form(...),
    reason: str = Form(""),
    note: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    try:
        review.reject(
            get_store(request), item_id, actor=user, version=version, reason=reason, note=note
        )
    except review.InvalidDecision as exc:
        return _refused(request, item_id, user, exc, open="reject", reason=reason, note=note)
    return _done(request, item_id, user)


@router.post("/items/{item_id}/reopen", response_class=HTMLResponse)
def reopen(
    request: Request,
    item_id: str,
    version: int = Form(...),
    reason: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    try:
        review.reopen(get_store(request), item_id, actor=user, version=version, reason=reason)
    except review.InvalidDecision as exc:
        return _refused(request, item_id, user, exc, open="reopen", reason=reason)
    return _done(request, item_id, user)
