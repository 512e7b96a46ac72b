"""The packet page, publishing, and downloads in HTML, PDF, Markdown and JSON.

``/accounts/{id}/packet.{fmt}`` is the current draft (``?as_of=`` another period);
``?version=N`` a published snapshot. Downloads are the customer packet unless
``?audience=internal``.

The page shows either the draft (with its Publish button) or, after publishing or with
``?version=N``, that published version and its downloads; "Start a new draft" goes back to
the draft explicitly.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.packet import render as packet_render
from clerk.packet.assemble import draft_packet, get_packet, publish_packet, published_packets
from clerk.review.current import period_options
from clerk.review.shares import list_shares
from clerk.review.users import User
from review_ui.rendering import render
from review_ui.routes.accounts import parse_as_of
from review_ui.security import get_store, page_user

router = APIRouter(include_in_schema=False)


@router.get("/accounts/{account_id}/packet", response_class=HTMLResponse)
def packet_page(
    request: Request,
    account_id: str,
    as_of: str | None = None,
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    published: int | None = Query(None, ge=1, le=2**31 - 1),
    user: User = Depends(page_user),
) -> Response:
    store = get_store(request)
    day = parse_as_of(as_of)
    shown = version or published
    packet = (
        get_packet(store, account_id, shown, actor=user)
        if shown is not None
        else draft_packet(store, account_id, actor=user, as_of=day)
    )
    versions = published_packets(store, account_id, actor=user)
    shares = list_shares(store, account_id, actor=user)
    with store.session() as session:
        options = period_options(session, account_id)
    selected = next((o for o in options if o.end <= packet.as_of), None)
    return render(
        request,
        "packet_page.html",
        packet=packet,
        versions=versions,
        published=shown is not None,
        just_published=published is not None,
        periods=options,
        selected=selected,
        query=f"?version={shown}" if shown else (f"?as_of={day.isoformat()}" if day else ""),
        next_version=(versions[0].version + 1) if versions else 1,
        shares=shares,
    )


@router.post("/accounts/{account_id}/packet/publish")
def publish(
    request: Request,
    account_id: str,
    as_of: str | None = Form(None),
    user: User = Depends(page_user),
) -> Response:
    packet = publish_packet(get_store(request), account_id, actor=user, as_of=parse_as_of(as_of))
    target = f"/accounts/{account_id}/packet?published={packet.version}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/accounts/{account_id}/packet.{fmt}")
def download(
    request: Request,
    account_id: str,
    fmt: str,
    # Bounded like the API's: a 20-digit version overflowed the SQL integer (a 500).
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    as_of: str | None = None,
    audience: str = "customer",
    user: User = Depends(page_user),
) -> Response:
    if fmt not in packet_render.FORMATS:
        raise HTTPException(404, f"No packet format {fmt!r}.")
    if audience not in packet_render.AUDIENCES:
        raise HTTPException(422, "audience must be customer or internal")
    store = get_store(request)
    if version is None:
        packet = draft_packet(store, account_id, actor=user, as_of=parse_as_of(as_of))
    else:
        packet = get_packet(store, account_id, version, actor=user)
    who: packet_render.Audience = "internal" if audience == "internal" else "customer"
    body = packet_render.render(packet, fmt, audience=who)
    # HTML opens in the page's preview frame unless asked to download; the rest download.
    inline = fmt == "html" and "download" not in request.query_params
    name = packet_render.filename(packet, fmt, who)
    return Response(
        body,
        media_type=packet_render.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"'
        },
    )
