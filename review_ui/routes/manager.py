"""The manager view (managers and admins only): the grid, its filters and a CSV export."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from clerk.review.users import User
from review_ui.grid import GridFilters, grid_csv, manager_page
from review_ui.rendering import render
from review_ui.security import get_store, page_user

router = APIRouter(include_in_schema=False)


def manager_user(user: User = Depends(page_user)) -> User:
    if not user.is_manager:
        raise HTTPException(403, "The team view is for managers.")
    return user


def grid_filters(
    csm: str | None = Query(None),
    renewal_within: str | None = Query(None, description="days"),
    gap_kind: str | None = Query(None),
    severity: str | None = Query(None),
    stale_pending: bool = Query(False),
    unanswered_days: str | None = Query(None, description="days"),
) -> GridFilters:
    # Empty strings come from the filter form's "any" options.
    days = renewal_within.strip() if renewal_within else ""
    if days and not days.lstrip("-").isdigit():
        raise HTTPException(422, "renewal_within must be a whole number of days")
    unanswered = unanswered_days.strip() if unanswered_days else ""
    if unanswered and not unanswered.isdigit():
        raise HTTPException(422, "unanswered_days must be a whole number of days")
    return GridFilters(
        csm=csm or None,
        renewal_within=int(days) if days else None,
        gap_kind=gap_kind or None,
        severity=severity or None,
        stale_pending=stale_pending,
        unanswered_days=int(unanswered) if unanswered else None,
    )


@router.get("/manager", response_class=HTMLResponse)
def manager(
    request: Request,
    filters: GridFilters = Depends(grid_filters),
    page_number: int = Query(1, alias="page", ge=1),
    user: User = Depends(manager_user),
) -> Response:
    with get_store(request).session() as session:
        page = manager_page(session, user, filters, page=page_number)
    name = "_grid.html" if request.headers.get("HX-Request") == "true" else "manager.html"
    return render(request, name, page=page)


@router.get("/manager.csv")
def manager_csv(
    request: Request,
    filters: GridFilters = Depends(grid_filters),
    user: User = Depends(manager_user),
) -> Response:
    with get_store(request).session() as session:
        page = manager_page(session, user, filters)
    return Response(
        grid_csv(page),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="proof-coverage.csv"'},
    )
