"""Rate limits shared by every worker: failed sign-ins, and requests to share links.

Both are sliding windows counted in the store the app already uses (table
``throttle_hits``), so ``clerk serve --workers N`` gives an attacker one budget, not N, and
a restart does not reset it. No dependency, nothing to configure beyond the limits:

- Sign-ins (:class:`Throttle`): after ``CLERK_LOGIN_ATTEMPTS`` failures within
  ``CLERK_LOGIN_WINDOW_SECONDS`` for one email, or from one client address, further attempts
  for it get 429 until the oldest failure leaves the window. A success clears the account's
  count (not the address's).
- Share links (:class:`ShareThrottle`): ``CLERK_SHARE_REQUESTS_PER_MINUTE`` requests per link
  and per client address in any 60 seconds.

Keys are stored as SHA-256 digests, never as emails or addresses. Attempts in flight at the
same moment are each checked against the failures already recorded, so a burst can pass the
limit by at most the number of requests being served at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable

from fastapi import HTTPException, Request
from sqlalchemy import delete, func, insert, select

from clerk.review.users import normalise_email
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import ThrottleHitRow, utcnow

Clock = Callable[[], dt.datetime]
_PRUNE_EVERY = 200  # hits recorded by this process between deletions of expired rows


class SharedWindow:
    """Hits per key within the last ``window`` seconds, counted in SQL (one ``scope``)."""

    def __init__(
        self, store: Store, scope: str, limit: int, window: float, clock: Clock = utcnow
    ) -> None:
        self.store, self.scope, self.clock = store, scope, clock
        self.limit = max(1, limit)
        self.window = dt.timedelta(seconds=max(1.0, window))
        self._since_prune = _PRUNE_EVERY  # prune on the first hit

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def wait(self, keys: Iterable[str]) -> int:
        """Seconds until every key is under its limit again (0: allowed now)."""
        now = self.clock()
        hashed = [self._hash(k) for k in keys]
        with self.store.session() as session:
            rows = session.execute(
                select(ThrottleHitRow.key, func.count(), func.min(ThrottleHitRow.at))
                .where(
                    ThrottleHitRow.scope == self.scope,
                    ThrottleHitRow.key.in_(hashed),
                    ThrottleHitRow.at > now - self.window,
                )
                .group_by(ThrottleHitRow.key)
            ).all()
        waits = [
            int((oldest + self.window - now).total_seconds()) + 1
            for _key, count, oldest in rows
            if count >= self.limit
        ]
        return max(waits, default=0)

    def hit(self, keys: Iterable[str]) -> None:
        """Count one hit against every key."""
        now = self.clock()
        with self.store.session() as session:
            session.execute(
                insert(ThrottleHitRow),
                [{"scope": self.scope, "key": self._hash(k), "at": now} for k in keys],
            )
            self._since_prune += 1
            if self._since_prune >= _PRUNE_EVERY:
                self._since_prune = 0
                session.execute(
                    delete(ThrottleHitRow).where(
                        ThrottleHitRow.scope == self.scope, ThrottleHitRow.at <= now - self.window
                    )
                )

    def clear(self, key: str) -> None:
        with self.store.session() as session:
            session.execute(
                delete(ThrottleHitRow).where(
                    ThrottleHitRow.scope == self.scope, ThrottleHitRow.key == self._hash(key)
                )
            )


class Throttle:
    """Failed sign-ins per account and per client address (see the module doc)."""

    def __init__(self, settings: Settings, store: Store, clock: Clock = utcnow) -> None:
        self.failures = SharedWindow(
            store, "login", settings.login_attempts, settings.login_window_seconds, clock
        )

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"account:{normalise_email(email)}", f"address:{address}"

    def check(self, email: str, address: str) -> None:
        """Raise 429 when the account or the address has used up its failures."""
        wait = self.failures.wait(self._keys(email, address))
        if wait:
            raise HTTPException(
                429,
                f"Too many failed sign-ins; try again in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )

    def failed(self, email: str, address: str) -> None:
        self.failures.hit(self._keys(email, address))

    def succeeded(self, email: str) -> None:
        self.failures.clear(self._keys(email, "")[0])


class ShareThrottle:
    """Requests per share link and per client address in any 60 seconds."""

    def __init__(self, store: Store, per_minute: int, clock: Clock = utcnow) -> None:
        self.requests = SharedWindow(store, "share", per_minute, 60, clock)

    def allow(self, *keys: str) -> bool:
        """Count the request and say yes, or say no (a refused request is not counted)."""
        if self.requests.wait(keys):
            return False
        self.requests.hit(keys)
        return True


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle
