"""Sessions, CSRF and who is asking: the dependencies every route declares.

- A signed-in browser holds a random session token (``clerk.review.sessions``: the token's
  hash is a row in ``web_sessions``); signing out, a password change, ``clerk users remove``
  and ``clerk users disable`` delete the rows, so those sessions end at once. The cookie is
  HttpOnly and SameSite=Lax. Before sign-in the login form's CSRF token rides in a cookie
  signed with the server's secret key (itsdangerous); such a cookie never names a user, so
  even a forged one is no session.
- The secret key is ``CLERK_SECRET_KEY`` (32 bytes or more) or, unset, a random key generated
  on first start into ``CLERK_HOME/secret_key`` (mode 0600). There is no built-in key.
- Every state-changing request must echo the session's CSRF token, as the ``csrf_token``
  form field or the ``X-CSRF-Token`` header (htmx sends the header, set once on
  ``<body hx-headers>``); otherwise it gets 403.
- The JSON API under ``/api`` accepts the same session cookie (with the same CSRF rule) or
  HTTP Basic credentials (``email:password``) for scripts. Basic requests need no CSRF token:
  the app never sends a ``WWW-Authenticate`` challenge, so a browser never holds Basic
  credentials for it that a forged cross-site request could ride on. An unknown email costs
  the same argon2 verification as a known one, so timing does not reveal who has an account.
- Failed sign-ins (form or Basic) are throttled per account and per client address
  (``review_ui.throttle``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from clerk.domain.models import Role
from clerk.review.sessions import end_session, find_session, start_session
from clerk.review.users import User, normalise_email, spend_dummy_verify, verify_password
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import UserRow
from review_ui.throttle import client_address, get_throttle

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
    token: str | None = None  # the cookie of a stored (signed-in) session


class SecretKeyError(RuntimeError):
    """CLERK_SECRET_KEY is set but too short, or the key file cannot be used."""


MIN_SECRET_BYTES = 32
SECRET_FILE = "secret_key"
SESSION_PREFIX = "s."


def resolve_secret(settings: Settings) -> str:
    """CLERK_SECRET_KEY if set (refused when shorter than 32 bytes), else the key kept in
    CLERK_HOME/secret_key, generated (and written with mode 0600) on first start."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key.encode()) < MIN_SECRET_BYTES:
            raise SecretKeyError(
                f"CLERK_SECRET_KEY is {len(key.encode())} bytes; it must be at least "
                f"{MIN_SECRET_BYTES} (make one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'), or unset it to use a generated key."
            )
        return key
    path = settings.home / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: of several workers starting at once exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as exc:
        raise SecretKeyError(f"cannot create the key file {path}: {exc}") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def _read_key(path: Path) -> str:
    """The key in ``path``; waits a moment for a worker that is still writing it."""
    for _ in range(40):
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretKeyError(f"cannot read the key file {path}: {exc}") from None
        if len(key.encode()) >= MIN_SECRET_BYTES:
            return key
        time.sleep(0.05)
    raise SecretKeyError(
        f"{path} holds a key shorter than {MIN_SECRET_BYTES} bytes: delete it to have a new "
        "one generated (every session ends), or set CLERK_SECRET_KEY"
    )


class Sessions:
    """Reads and writes the session cookie: a stored session, or a signed anonymous one."""

    def __init__(self, settings: Settings, store: Store) -> None:
        key = resolve_secret(settings)
        self._store = store
        self._serializer = URLSafeTimedSerializer(key, salt="clerk-anonymous-session")
        self.max_age = settings.session_max_age
        self._basic_key = hashlib.sha256(("basic:" + key).encode()).digest()
        # Digests of recently verified Basic credentials: argon2 is deliberately slow, and
        # an API client sends the same credentials on every request.
        self._verified: dict[bytes, None] = {}
        # Who an email is, for a few seconds: every page needs it. A removed or disabled
        # user is out at once anyway: their session rows are gone.
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
        if raw.startswith(SESSION_PREFIX):
            found = find_session(self._store, raw.removeprefix(SESSION_PREFIX))
            if found is None:
                return None
            return SessionData(email=found.email, csrf=found.csrf, token=raw)
        try:
            data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        csrf = data.get("csrf") if isinstance(data, dict) else None
        if not isinstance(csrf, str):
            return None
        # An anonymous cookie never names a user, whatever it holds.
        return SessionData(email=None, csrf=csrf)

    def dump(self, data: SessionData) -> str:
        """The cookie of an anonymous session (the sign-in form's CSRF token)."""
        if data.token:
            return data.token
        return self._serializer.dumps({"csrf": data.csrf})

    def new(self, email: str | None = None) -> SessionData:
        return SessionData(email=None, csrf=secrets.token_urlsafe(24))

    def sign_in(self, email: str) -> SessionData:
        """A stored session for ``email``: its cookie value is ``.token``."""
        token, csrf = start_session(self._store, email, max_age=self.max_age)
        return SessionData(email=email, csrf=csrf, token=SESSION_PREFIX + token)

    def sign_out(self, data: SessionData | None) -> None:
        if data is not None and data.token:
            end_session(self._store, data.token.removeprefix(SESSION_PREFIX))

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
    """The enabled user of this email, else None."""
    with store.session() as session:
        return session.scalar(
            select(UserRow).where(
                UserRow.email == normalise_email(email), UserRow.disabled.is_(False)
            )
        )


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
    throttle = get_throttle(request)
    throttle.check(email, client_address(request))
    row = _user_row(get_store(request), email)
    if row is None:
        spend_dummy_verify(password)  # an unknown email takes as long as a wrong password
    if row is None or not get_sessions(request).basic_ok(row.email, password, row.password_hash):
        throttle.failed(email, client_address(request))
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
