"""The packet page, publishing, and downloads in HTML, PDF, Markdown and JSON.

``/accounts/{id}/packet.{fmt}`` is the current draft; ``?version=N`` a published snapshot.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.packet import render as packet_render
from clerk.packet.assemble import draft_packet, get_packet, publish_packet, published_packets
from clerk.review.shares import list_shares
from clerk.review.users import User
from review_ui.rendering import render
from review_ui.security import get_store, page_user

router = APIRouter(include_in_schema=False)


@router.get("/accounts/{account_id}/packet", response_class=HTMLResponse)
def packet_page(request: Request, account_id: str, user: User = Depends(page_user)) -> Response:
    store = get_store(request)
    packet = draft_packet(store, account_id, actor=user)
    versions = published_packets(store, account_id, actor=user)
    shares = list_shares(store, account_id, actor=user)
    return render(request, "packet_page.html", packet=packet, versions=versions, shares=shares)


@router.post("/accounts/{account_id}/packet/publish")
def publish(request: Request, account_id: str, user: User = Depends(page_user)) -> Response:
    packet = publish_packet(get_store(request), account_id, actor=user)
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
    user: User = Depends(page_user),
) -> Response:
    if fmt not in packet_render.FORMATS:
        raise HTTPException(404, f"No packet format {fmt!r}.")
    store = get_store(request)
    if version is None:
        packet = draft_packet(store, account_id, actor=user)
    else:
        packet = get_packet(store, account_id, version, actor=user)
    body = packet_render.render(packet, fmt)
    # HTML opens in the page's preview frame unless asked to download; the rest download.
    inline = fmt == "html" and "download" not in request.query_params
    name = packet_render.filename(packet, fmt)
    return Response(
        body,
        media_type=packet_render.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"'
        },
    )
