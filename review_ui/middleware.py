"""ASGI middleware: a request body limit enforced before reading, and security headers.

:class:`BodyLimit` answers 413 to a request whose ``Content-Length`` exceeds
``CLERK_MAX_BODY_BYTES`` without reading a byte of it, and counts the bytes of a streamed
(chunked) body as the app reads them, answering 413 as soon as they pass the limit. An
unauthenticated 200 MB body used to be read in full before the 401.

:class:`SecurityHeaders` adds a Content-Security-Policy, X-Frame-Options DENY,
X-Content-Type-Options nosniff and a Referrer-Policy to every response. The policy allows
scripts and styles from the app itself only (htmx and keys.js are vendored files); inline
``style`` attributes stay allowed for the progress meters and htmx's indicator style. The
vendored Swagger UI page starts itself with one inline script, so ``/api/docs`` alone may run
inline script.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
HEADERS = {
    b"x-frame-options": b"DENY",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
}


# The packet previews framed by a page of the same origin: the vendor's packet page and the
# customer's share page.
_PACKET_PREVIEW = re.compile(r"^/(accounts|s)/[^/]+/packet\.html$")


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _reply(send, 400, "Content-Length is not a number.")
                return
            if too_big:
                await _reply(send, 413, self._message())
                return
        seen = 0
        started = False
        cut_off = False

        async def counted() -> Message:
            nonlocal seen, started, cut_off
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Answer now: the framework may turn the exception below into its own
                    # 400 ("error parsing the body"), which is then dropped by `tracked`.
                    if not started:
                        await _reply(send, 413, self._message())
                        started = True
                    cut_off = True
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if cut_off:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLarge):  # answered with 413 inside `counted`
            await self.app(scope, counted, tracked)

    def _message(self) -> str:
        return f"Request body larger than {self.max_bytes:,} bytes."


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or ""
        csp = DOCS_CSP if path == "/api/docs" else CSP
        frame = b"DENY"
        if _PACKET_PREVIEW.match(path):
            # The packet page shows the HTML packet in a frame of its own origin.
            csp = csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
            frame = b"SAMEORIGIN"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                # A route may ask for a stricter referrer policy (the share pages: no-referrer).
                keep = {b"referrer-policy"} & {k.lower() for k, _ in own}
                headers = [
                    (k, v)
                    for k, v in own
                    if k.lower() in keep
                    or (k.lower() not in HEADERS and k.lower() != b"content-security-policy")
                ]
                headers += [
                    (k, frame if k == b"x-frame-options" else v)
                    for k, v in HEADERS.items()
                    if k not in keep
                ]
                headers.append((b"content-security-policy", csp.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
