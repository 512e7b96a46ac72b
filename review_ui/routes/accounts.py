"""The CSM home (my accounts) and an account's review page, with bulk approve."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from clerk.review import decisions as review
from clerk.review.users import User
from review_ui.page_cache import newest_date, page_fingerprint
from review_ui.queries import AccountPage, account_page, account_summaries
from review_ui.rendering import card_cache, is_htmx, page_cache, render
from review_ui.security import csrf_token, get_store, page_user

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: User = Depends(page_user)) -> Response:
    with get_store(request).session() as session:
        accounts = account_summaries(session, user)
    return render(request, "home.html", accounts=accounts)


# The read-only pages are async on purpose: their few ms of SQLite and Jinja run on the event
# loop instead of a worker thread, which under load spares a GIL hand-off per request
# (measured: 86 -> 114 requests/s on one worker). Decisions and login stay in the threadpool.
@router.get("/accounts/{account_id}", response_class=HTMLResponse)
async def account(
    request: Request,
    account_id: str,
    as_of: str | None = None,
    outcome: str | None = None,
    page: int = Query(1, ge=1, description="page of the review queue, from 1"),
    user: User = Depends(page_user),
) -> Response:
    """The review page at a period (``as_of``, default the newest sweep), optionally showing
    one outcome only (the manager grid's cells link here); the queue one page at a time."""
    day = parse_as_of(as_of)
    pages, cards = page_cache(request), card_cache(request)
    # A manager's page differs (only a manager may dismiss a gap flag); nothing else about
    # the viewer is in the cached content.
    key = (account_id, as_of or "", outcome or "", page, user.is_manager)
    with get_store(request).session() as session:
        # 404 / 403 first; a page this worker does not have yet reads the account row whole
        # (kept in ``_row`` while the page is read: the session finds it there, no re-read)
        fingerprint, _row = page_fingerprint(
            session, account_id, user, load_account=not pages.holds(key)
        )
        cached = pages.get(key, fingerprint)
        if cached is None:
            view = account_page(
                session,
                account_id,
                user,
                as_of=day or newest_date(fingerprint),  # the newest, read with the fingerprint
                outcome=outcome,
                page=page,
                cards=cards,
            )
    if cached is None:
        filters = {"as_of": as_of or None, "outcome": outcome or None}
        body = request.app.state.templates.env.get_template("_account_body.html").render(
            page=view,
            page_links=page_links(view, filters),
            user=user,
            request=request,
            csrf=cards.slot,
        )
        cached = (view.account.name, body.encode())
        pages.put(key, fingerprint, *cached)
    title, content = cached
    # The page around the content (title, the viewer's header) is rendered per request; the
    # content (~90 KB) goes in as bytes: through the template it was decoded, joined and
    # encoded again, 0.18 ms a request, more than the rest of the frame.
    mark = cards.slot + "-content"
    frame = render(request, "account.html", title=title, body=Markup(mark))
    head, found, tail = bytes(frame.body).partition(mark.encode())
    assert found, "account.html shows its body"
    return HTMLResponse(
        head + cards.fill_bytes(content, csrf_token(request)) + tail,
        status_code=frame.status_code,
    )


def page_links(view: AccountPage, filters: dict[str, str | None]) -> dict[str, str]:
    """URLs of the queue's previous and next pages (and first, last), keeping the filters."""
    if view.page_count <= 1:
        return {}
    kept = {k: v for k, v in filters.items() if v}

    def url(n: int) -> str:
        return f"/accounts/{view.account.id}?" + urlencode({**kept, "page": n})

    links = {"first": url(1), "last": url(view.page_count)}
    if view.page_number > 1:
        links["prev"] = url(view.page_number - 1)
    if view.page_number < view.page_count:
        links["next"] = url(view.page_number + 1)
    return links


def parse_as_of(value: str | None) -> dt.date | None:
    """The ``as_of`` query parameter; a bad one is a 422, not a server error."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"as_of {value!r} is not a date (YYYY-MM-DD)") from None


def parse_selections(values: list[str]) -> list[tuple[str, int]]:
    """Checkbox values are ``<item id>:<version>``, so bulk approve is version-checked too."""
    out = []
    for value in values:
        item_id, _, version = value.rpartition(":")
        if item_id and version.isdigit():
            out.append((item_id, int(version)))
    return out


@router.post("/accounts/{account_id}/bulk-approve", response_class=HTMLResponse)
async def bulk_approve(
    request: Request, account_id: str, user: User = Depends(page_user)
) -> Response:
    form = await request.form()
    selections = parse_selections([v for v in form.getlist("select") if isinstance(v, str)])
    store = get_store(request)
    with store.session() as session:
        review.check_account(session, account_id, user)  # 403/404 before touching items
    result = review.bulk_approve(store, selections, actor=user)
    if not is_htmx(request):
        return RedirectResponse(f"/accounts/{account_id}", status_code=303)
    with store.session() as session:
        page = account_page(session, account_id, user)
    return render(request, "_queue.html", page=page, bulk=result)
