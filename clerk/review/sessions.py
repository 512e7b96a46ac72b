"""Server-side sessions of the review UI: a random token in the cookie, its hash in SQL.

A signed cookie cannot be taken back; a row can. Signing out deletes the row, and a password
change, ``clerk users remove`` or ``clerk users disable`` delete every row of that user, so
each of these ends all of the user's sessions at once, on every worker. Only the token's
SHA-256 is stored: a copy of the database does not hold usable cookies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from clerk.review.users import normalise_email
from clerk.store import Store
from clerk.store.tables import UserRow, WebSessionRow, utcnow


@dataclass(frozen=True)
class StoredSession:
    email: str
    csrf: str


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, email: str, *, max_age: int) -> tuple[str, str]:
    """A new session for ``email`` valid ``max_age`` seconds: returns (cookie, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = utcnow()
    with store.session() as session:
        # Expired rows go when someone signs in: the table stays the size of the live sessions.
        session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
        session.add(
            WebSessionRow(
                id=_key(token),
                email=normalise_email(email),
                csrf=csrf,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=max_age),
            )
        )
    return token, csrf


# Built once (every page request runs it): the session row of a key, its user enabled.
_FIND = (
    select(WebSessionRow.email, WebSessionRow.csrf, WebSessionRow.expires_at)
    .join(UserRow, UserRow.email == WebSessionRow.email)
    .where(WebSessionRow.id == bindparam("key"), UserRow.disabled.is_(False))
)


def find_session(store: Store, token: str) -> StoredSession | None:
    """The live session of this token (its user enabled), else None."""
    if not token or len(token) > 128:
        return None
    with store.engine.connect() as connection:
        row = connection.execute(_FIND, {"key": _key(token)}).first()
    if row is None or row.email is None or row.expires_at <= utcnow():
        return None
    return StoredSession(email=row.email, csrf=row.csrf)


def end_session(store: Store, token: str) -> None:
    with store.session() as session:
        session.execute(delete(WebSessionRow).where(WebSessionRow.id == _key(token)))


def end_user_sessions(session: Session, email: str) -> int:
    """Delete every session of ``email`` (in the caller's transaction); returns how many."""
    result = session.execute(
        delete(WebSessionRow).where(WebSessionRow.email == normalise_email(email))
    )
    return int(getattr(result, "rowcount", 0) or 0)
