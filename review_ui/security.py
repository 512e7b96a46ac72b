"""Sessions, CSRF and who is asking: the dependencies every route declares.

- Pages use a session cookie signed with ``settings.secret_key`` (itsdangerous), HttpOnly and
  SameSite=Lax, holding the user's email and a CSRF token. Every state-changing request must
  echo that token, as the ``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx
  sends the header, set once on ``<body hx-headers>``); otherwise it gets 403.
- The JSON API under ``/api`` accepts the same session cookie (with the same CSRF rule) or
  HTTP Basic credentials (``email:password``) for scripts. Basic requests need no CSRF token:
  the app never sends a ``WWW-Authenticate`` challenge, so a browser never holds Basic
  credentials for it that a forged cross-site request could ride on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from clerk.domain.models import Role
from clerk.review.users import User, normalise_email, verify_password
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import UserRow

SESSION_COOKIE = "clerk_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_TTL = 5.0


class LoginRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the login page."""


@dataclass
class SessionData:
    email: str | None
    csrf: str


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, settings: Settings) -> None:
        key = settings.secret_key.get_secret_value()
        self._serializer = URLSafeTimedSerializer(key, salt="clerk-session")
        self.max_age = settings.session_max_age
        self._basic_key = hashlib.sha256(("basic:" + key).encode()).digest()
        # Digests of recently verified Basic credentials: argon2 is deliberately slow, and
        # an API client sends the same credentials on every request.
        self._verified: dict[bytes, None] = {}
        # Who an email is, for a few seconds: every page needs it, and a role change or a
        # deleted user taking effect USER_TTL seconds later is an acceptable delay.
        self._users: dict[str, tuple[float, User | None]] = {}

    def user(self, store: Store, email: str) -> User | None:
        now = time.monotonic()
        hit = self._users.get(email)
        if hit is not None and now - hit[0] < USER_TTL:
            return hit[1]
        row = _user_row(store, email)
        user = None if row is None else User(email=row.email, role=_role(row.role))
        if len(self._users) > 4096:
            self._users.clear()
        self._users[email] = (now, user)
        return user

    def load(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        csrf = data.get("csrf")
        if not isinstance(csrf, str):
            return None
        email = data.get("email")
        return SessionData(email=email if isinstance(email, str) else None, csrf=csrf)

    def dump(self, data: SessionData) -> str:
        return self._serializer.dumps({"email": data.email, "csrf": data.csrf})

    def new(self, email: str | None = None) -> SessionData:
        return SessionData(email=email, csrf=secrets.token_urlsafe(24))

    def basic_ok(self, email: str, password: str, password_hash: str) -> bool:
        digest = hmac.new(
            self._basic_key, f"{email}\0{password}\0{password_hash}".encode(), hashlib.sha256
        ).digest()
        if digest in self._verified:
            return True
        if not verify_password(password_hash, password):
            return False
        if len(self._verified) > 1024:
            self._verified.clear()
        self._verified[digest] = None
        return True


def set_session_cookie(response: Any, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=request.app.state.sessions.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def _user_row(store: Store, email: str) -> UserRow | None:
    with store.session() as session:
        return session.scalar(select(UserRow).where(UserRow.email == normalise_email(email)))


def session_user(request: Request) -> tuple[User | None, SessionData | None]:
    """The signed-in user from the cookie, looked up again (cached for USER_TTL seconds), so a
    deleted user is soon out even while their cookie is still validly signed."""
    if hasattr(request.state, "clerk_user"):
        return request.state.clerk_user, request.state.clerk_session
    sessions = get_sessions(request)
    data = sessions.load(request)
    user = None
    if data is not None and data.email:
        user = sessions.user(get_store(request), data.email)
    request.state.clerk_user, request.state.clerk_session = user, data
    return user, data


def _role(value: str) -> Role:
    if value not in ("csm", "manager", "admin"):
        raise HTTPException(403, "user has an unknown role")
    return value  # type: ignore[return-value]


async def _check_csrf(request: Request, data: SessionData | None) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if data is None or not sent or not hmac.compare_digest(sent, data.csrf):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")


async def page_user(request: Request) -> User:
    """The signed-in user of a page route; CSRF-checked for state-changing methods."""
    user, data = session_user(request)
    if user is None:
        if request.method in SAFE_METHODS:
            raise LoginRequired()
        raise HTTPException(401, "Your session has ended: sign in again.")
    await _check_csrf(request, data)
    return user


def _basic_user(request: Request) -> User | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        email, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPException(401, "Malformed Basic credentials.") from None
    row = _user_row(get_store(request), email)
    if row is None or not get_sessions(request).basic_ok(row.email, password, row.password_hash):
        raise HTTPException(401, "Wrong email or password.")
    return User(email=row.email, role=_role(row.role))


async def api_user(request: Request) -> User:
    """The caller of an API route: HTTP Basic, else the session cookie (with CSRF)."""
    user = _basic_user(request)
    if user is not None:
        return user
    user, data = session_user(request)
    if user is None:
        raise HTTPException(401, "Sign in: send HTTP Basic credentials or the session cookie.")
    await _check_csrf(request, data)
    return user


def csrf_token(request: Request) -> str:
    """The CSRF token of the current session, for templates."""
    _, data = session_user(request)
    return data.csrf if data else ""
