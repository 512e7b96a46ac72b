"""Users of the review UI: argon2 password hashes and the three roles.

Roles (``clerk.domain.models.Role``): a ``csm`` sees and changes only the accounts whose
``csm`` is their email; a ``manager`` sees every account and may dismiss gap flags; an
``admin`` may do everything a manager may. Users are added from the CLI
(``clerk users add``) so that no web route can create an account holder.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import cast, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.domain.models import Role
from clerk.store import Store
from clerk.store.tables import UserRow

ROLES: tuple[str, ...] = get_args(Role)
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown email close to that of a
# known one, so response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ValueError):
    """A user could not be added (bad role, duplicate email, bad email)."""


@dataclass(frozen=True)
class User:
    """Who is signed in. Compared by email; never carries the password hash."""

    email: str
    role: Role

    @property
    def sees_all_accounts(self) -> bool:
        return self.role in ("manager", "admin")

    @property
    def is_manager(self) -> bool:
        return self.role in ("manager", "admin")

    def can_access(self, account_csm: str | None) -> bool:
        """Whether this user may see and change an account owned by ``account_csm``."""
        return self.sees_all_accounts or (account_csm is not None and account_csm == self.email)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password that is easy to type from a terminal (no ambiguous symbols)."""
    return secrets.token_urlsafe(12)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add_user(
    store: Store, email: str, role: str, password: str | None = None, *, replace: bool = False
) -> tuple[User, str]:
    """Create (or with ``replace`` reset) a user; returns the user and the plain password.

    Without ``password`` a random one is generated, so the caller can print it once.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if "@" not in email or len(email) > 255:
        raise UserError(f"not an email address: {email!r}")
    password = password or generate_password()
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.email == email))
        if row is not None and not replace:
            raise UserError(f"user {email} exists (use --replace to reset role and password)")
        if row is None:
            row = UserRow(email=email, role=role, password_hash=hash_password(password))
            session.add(row)
        else:
            row.role = role
            row.password_hash = hash_password(password)
            # A new password (or role) ends every session signed in with the old one.
            _end_sessions(session, email)
    return User(email=email, role=cast(Role, role)), password


def _end_sessions(session: Session, email: str) -> int:
    from clerk.review.sessions import end_user_sessions

    return end_user_sessions(session, email)


def remove_user(store: Store, email: str) -> int:
    """Delete a user and end all their sessions; returns how many sessions ended.

    Their decisions stay in the audit log under their email.
    """
    email = normalise_email(email)
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.email == email))
        if row is None:
            raise UserError(f"no user {email}")
        ended = _end_sessions(session, email)
        session.delete(row)
    return ended


def set_disabled(store: Store, email: str, disabled: bool = True) -> int:
    """Disable (or enable again) a user; disabling ends all their sessions at once."""
    email = normalise_email(email)
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.email == email))
        if row is None:
            raise UserError(f"no user {email}")
        row.disabled = disabled
        return _end_sessions(session, email) if disabled else 0


def spend_dummy_verify(password: str) -> None:
    """Verify against a dummy hash: an unknown email costs what a known one does."""
    verify_password(_DUMMY_HASH, password)


def authenticate(store: Store, email: str, password: str) -> User | None:
    """The user whose email and password match, else None (same work either way)."""
    with store.session() as session:
        row = session.scalar(select(UserRow).where(UserRow.email == normalise_email(email)))
        stored = row.password_hash if row is not None else _DUMMY_HASH
        ok = verify_password(stored, password)
        if row is None or not ok or row.disabled:
            return None
        return User(email=row.email, role=cast(Role, row.role))


def list_users(store: Store) -> list[User]:
    with store.session() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.email)).all()
        return [User(email=r.email, role=cast(Role, r.role)) for r in rows]


def disabled_emails(store: Store) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(UserRow.email).where(UserRow.disabled.is_(True))))
