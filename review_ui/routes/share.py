"""Share links: the customer's page under ``/s/{token}`` and the vendor's share / revoke.

The customer's side has no session and no login. What guards it:

- The token is the only key (256 random bits; stored hashed). Unknown, expired and revoked
  tokens all answer 404; an expired or revoked one says so and nothing else (no account,
  no version, no dates).
- Read-only but for the answers form, whose CSRF token is an HMAC of the link under the
  app's secret key: a page that does not hold the link cannot forge it.
- Throttled per link and per client address (``share_requests_per_minute``, counted in SQL
  across workers: ``review_ui.throttle``); lookups of unknown tokens count against the
  address, so guessing is slow as well as hopeless.
- Every ``/s/`` response carries ``Referrer-Policy: no-referrer`` (the token never leaves in a
  Referer header), ``Cache-Control: no-store`` and ``X-Robots-Tag: noindex``; uvicorn's
  access log prints ``/s/[token]`` instead of the token (:class:`RedactShareTokens`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.packet import render as packet_render
from clerk.review.decisions import InvalidDecision, NotFound
from clerk.review.shares import (
    Answer,
    OpenedLink,
    Submission,
    create_share,
    hash_token,
    list_shares,
    open_share,
    parse_days,
    record_responses,
    revoke_share,
)
from clerk.review.users import User
from clerk.settings import Settings
from clerk.store import Store
from review_ui.rendering import render
from review_ui.security import get_store, page_user, resolve_secret
from review_ui.throttle import ShareThrottle

router = APIRouter(include_in_schema=False)
SHARE_PREFIX = "/s/"
SHARE_FORMATS = ("html", "pdf")
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
DEAD = {
    "unknown": "This link does not work. Ask your contact for a new one.",
    "expired": "This link has expired. Ask your contact for a new one.",
    "revoked": "This link was revoked. Ask your contact for a new one.",
}
_TOKEN_IN_PATH = re.compile(r"/s/[^/?#\s\"]+")


# --- safety plumbing ------------------------------------------------------------------------


class RedactShareTokens(logging.Filter):
    """Replaces share tokens in uvicorn's access log lines (and any other record) with
    ``[token]``; the record is kept, only the secret goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/s/[token]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and SHARE_PREFIX in record.msg:
            record.msg = _TOKEN_IN_PATH.sub("/s/[token]", record.msg)
        return True


def install(app: FastAPI, settings: Settings) -> None:
    """Headers on every /s/ response, the throttle, and the access-log redaction."""
    app.state.share_throttle = ShareThrottle(app.state.store, settings.share_requests_per_minute)
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactShareTokens) for f in logger.filters):
            logger.addFilter(RedactShareTokens())

    @app.middleware("http")
    async def share_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(SHARE_PREFIX):
            response.headers.update(SECURITY_HEADERS)
        return response


def link_csrf(settings: Settings, token: str) -> str:
    key = resolve_secret(settings).encode()
    return hmac.new(key, b"share-csrf\0" + hash_token(token).encode(), hashlib.sha256).hexdigest()


def _throttled(request: Request, token: str) -> Response | None:
    throttle: ShareThrottle = request.app.state.share_throttle
    address = request.client.host if request.client else "?"
    if throttle.allow("t:" + hash_token(token), "a:" + address):
        return None
    return HTMLResponse(
        "Too many requests: wait a minute and try again.",
        status_code=429,
        headers={"Retry-After": "60"},
    )


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    # No session on these pages: the vendor's templates (and their user, their CSRF) stay out.
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def _dead(request: Request, opened: OpenedLink) -> Response:
    return _page(request, "share_dead.html", 404, message=DEAD[opened.state])


def _open(request: Request, token: str) -> tuple[OpenedLink, Response | None]:
    refused = _throttled(request, token)
    if refused is not None:
        return OpenedLink("unknown"), refused
    opened = open_share(get_store(request), token)
    if opened.state != "active":
        return opened, _dead(request, opened)
    return opened, None


# --- the customer's page --------------------------------------------------------------------


def _share_page(
    request: Request,
    token: str,
    opened: OpenedLink,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    assert opened.packet is not None
    packet = packet_render.customer_packet(opened.packet)
    titles = {o.id: o.title for o in packet.outcomes}
    items = [
        (
            i,
            titles.get(i.outcome or "", "Payback" if i.kind == "payback" else i.outcome or ""),
            opened.answers.get(i.id),
        )
        for i in packet.proof_items
    ]
    settings: Settings = request.app.state.settings
    return _page(
        request,
        "share_page.html",
        status_code,
        token=token,
        packet=packet,
        items=items,
        link=opened.link,
        share_csrf=link_csrf(settings, token),
        form=extra.pop("form", {}),
        sent=request.query_params.get("sent") == "1",
        **extra,
    )


@router.get("/s/{token}", response_class=HTMLResponse)
def share_page(request: Request, token: str) -> Response:
    opened, refused = _open(request, token)
    if refused is not None:
        return refused
    return _share_page(request, token, opened)


@router.get("/s/{token}/packet.{fmt}")
def share_download(request: Request, token: str, fmt: str) -> Response:
    opened, refused = _open(request, token)
    if refused is not None:
        return refused
    if fmt not in SHARE_FORMATS:
        return _dead(request, OpenedLink("unknown"))
    assert opened.packet is not None
    body = packet_render.render(opened.packet, fmt, audience="customer")
    inline = fmt == "html" and "download" not in request.query_params
    name = packet_render.filename(opened.packet, fmt)
    return Response(
        body,
        media_type=packet_render.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"'
        },
    )


@router.post("/s/{token}/respond", response_class=HTMLResponse)
async def share_respond(request: Request, token: str) -> Response:
    opened, refused = _open(request, token)
    if refused is not None:
        return refused
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    settings: Settings = request.app.state.settings
    sent_csrf = fields.get("csrf_token", "")
    if not hmac.compare_digest(sent_csrf, link_csrf(settings, token)):
        return HTMLResponse(
            "Missing or wrong form token: reload the page and try again.", status_code=403
        )
    answers: dict[str, tuple[Answer, str]] = {}
    for key, value in fields.items():
        if key.startswith("answer:") and value in ("confirm", "question"):
            item_id = key.removeprefix("answer:")
            answer: Answer = "confirm" if value == "confirm" else "question"
            answers[item_id] = (answer, fields.get(f"comment:{item_id}", ""))
    submission = Submission(
        name=fields.get("name", ""),
        email=fields.get("email", ""),
        answers=answers,
        overall=fields.get("overall", ""),
    )
    try:
        record_responses(get_store(request), token, submission)
    except NotFound:
        return _dead(request, open_share(get_store(request), token))
    except InvalidDecision as exc:
        return _share_page(request, token, opened, 422, error=str(exc), form=fields)
    return RedirectResponse(f"/s/{token}?sent=1#answers", status_code=303)


# --- the vendor's side ------------------------------------------------------------------------


def _packet_url(account_id: str) -> str:
    return f"/accounts/{account_id}/packet"


@router.post("/accounts/{account_id}/packet/share", response_class=HTMLResponse)
def share_create(
    request: Request,
    account_id: str,
    version: str = Form(""),
    expires: str = Form(""),
    user: User = Depends(page_user),
) -> Response:
    """Make a link; the page shows its URL this once (only its hash is kept)."""
    settings: Settings = request.app.state.settings
    store: Store = get_store(request)
    days = parse_days(expires) if expires.strip() else settings.share_expires_days
    number = int(version) if version.strip().isdigit() else None
    token, link = create_share(store, account_id, version=number, days=days, actor=user)
    return render(
        request,
        "share_created.html",
        account_id=account_id,
        link=link,
        url=f"{settings.base_url}/s/{token}",
        shares=list_shares(store, account_id, actor=user),
    )


@router.post("/accounts/{account_id}/shares/{share_id}/revoke")
def share_revoke(
    request: Request, account_id: str, share_id: int, user: User = Depends(page_user)
) -> Response:
    revoke_share(get_store(request), str(share_id), actor=user, account_id=account_id)
    return RedirectResponse(f"{_packet_url(account_id)}?revoked={share_id}", status_code=303)
