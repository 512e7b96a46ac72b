"""Actions on gap flags: assign an owner, set the next action and due date, acknowledge,
dismiss with a reason (managers only), reopen. htmx gets the flag's card back."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.review import decisions as review
from clerk.review.users import User
from review_ui.queries import account_summaries, gap_entry
from review_ui.rendering import is_htmx, render
from review_ui.security import get_store, page_user

router = APIRouter(include_in_schema=False)

GapAction = Literal["assign", "next_action", "acknowledge", "dismiss", "reopen"]


def gap_card(
    request: Request, gap_id: str, user: User, status_code: int = 200, **extra: Any
) -> Response:
    with get_store(request).session() as session:
        entry = gap_entry(session, gap_id, user)
    return render(request, "_gap.html", status_code=status_code, g=entry, **extra)


def parse_date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise review.InvalidDecision(f"Not a date (YYYY-MM-DD): {value!r}.") from None


def _act(request: Request, gap_id: str, user: User, action: GapAction, **kwargs: Any) -> Response:
    try:
        gap = review.update_gap(get_store(request), gap_id, actor=user, action=action, **kwargs)
    except review.InvalidDecision as exc:
        if not is_htmx(request):
            return render(request, "error.html", status_code=exc.status_code, error=exc)
        return gap_card(request, gap_id, user, status_code=exc.status_code, error=str(exc))
    if is_htmx(request):
        with get_store(request).session() as session:
            stats = account_summaries(session, user, only=gap.account)
        return gap_card(request, gap_id, user, stats=stats[0] if stats else None)
    return RedirectResponse(f"/accounts/{gap.account}#gap-{gap_id}", status_code=303)


@router.get("/gaps/{gap_id}", response_class=HTMLResponse)
def gap(request: Request, gap_id: str, user: User = Depends(page_user)) -> Response:
    return gap_card(request, gap_id, user)


@router.post("/gaps/{gap_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    gap_id: str,
    version: int = Form(...),
    owner: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    return _act(request, gap_id, user, "assign", version=version, owner=owner)


@router.post("/gaps/{gap_id}/next-action", response_class=HTMLResponse)
def next_action(
    request: Request,
    gap_id: str,
    version: int = Form(...),
    next_action: str = Form(""),
    due_date: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    try:
        due = parse_date(due_date)
    except review.InvalidDecision as exc:
        return gap_card(request, gap_id, user, status_code=exc.status_code, error=str(exc))
    return _act(
        request, gap_id, user, "next_action", version=version, next_action=next_action, due_date=due
    )


@router.post("/gaps/{gap_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request, gap_id: str, version: int = Form(...), user: User = Depends(page_user)
) -> Response:
    return _act(request, gap_id, user, "acknowledge", version=version)


@router.post("/gaps/{gap_id}/dismiss", response_class=HTMLResponse)
def dismiss(
    request: Request,
    gap_id: str,
    version: int = Form(...),
    reason: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    return _act(request, gap_id, user, "dismiss", version=version, reason=reason)


@router.post("/gaps/{gap_id}/reopen", response_class=HTMLResponse)
def reopen(
    request: Request,
    gap_id: str,
    version: int = Form(...),
    reason: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    return _act(request, gap_id, user, "reopen", version=version, reason=reason)
