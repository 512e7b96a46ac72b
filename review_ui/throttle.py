"""Failed sign-ins, counted per account and per client address.

A small sliding-window limiter in memory (no dependency, nothing to configure): after
``CLERK_LOGIN_ATTEMPTS`` failures within ``CLERK_LOGIN_WINDOW_SECONDS`` for one email, or
from one address, further attempts for it get 429 until the oldest failure leaves the
window. A success clears the account's count (not the address's). The counts live in the
process: with ``--workers N`` each worker counts on its own, so the bound is N times the
setting, still far below what a password guesser needs.
"""

from __future__ import annotations

import time
from collections import deque

from fastapi import HTTPException, Request

from clerk.review.users import normalise_email
from clerk.settings import Settings

_MAX_KEYS = 100_000


class Throttle:
    def __init__(self, settings: Settings, clock: object = time.monotonic) -> None:
        self.limit = max(1, settings.login_attempts)
        self.window = float(max(1, settings.login_window_seconds))
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.get(key)
        if seen is None:
            return deque()
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if not seen:
            self._failures.pop(key, None)
        return seen

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"account:{normalise_email(email)}", f"address:{address}"

    def check(self, email: str, address: str) -> None:
        """Raise 429 when the account or the address has used up its failures."""
        now = self.clock()  # type: ignore[operator]
        for key in self._keys(email, address):
            seen = self._recent(key, now)
            if len(seen) >= self.limit:
                wait = int(self.window - (now - seen[0])) + 1
                raise HTTPException(
                    429,
                    f"Too many failed sign-ins; try again in {wait} seconds.",
                    headers={"Retry-After": str(wait)},
                )

    def failed(self, email: str, address: str) -> None:
        now = self.clock()  # type: ignore[operator]
        if len(self._failures) > _MAX_KEYS:
            self._failures.clear()  # a flood of made-up emails must not grow memory forever
        for key in self._keys(email, address):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str) -> None:
        self._failures.pop(self._keys(email, "")[0], None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle
