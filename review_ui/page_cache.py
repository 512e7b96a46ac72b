"""The account page's content, kept per worker while the account's data is unchanged.

Building an account page takes a dozen queries and the cards' templates; reading whether
anything it shows changed takes one (:data:`FINGERPRINT`): indexed aggregates over the
account's rows in every table the page reads (its account and value-case rows, its proof
items, gap flags, audit log, customer answers, sources and sweep dates). The rendered content
is reused only while that fingerprint is the one this request read, so a decision, a sweep,
an ingest or a customer's answer made through any worker process shows on the next page load
everywhere.

The access check runs on every request, on the account row the fingerprint reads (the same
rule as ``clerk.review.decisions.check_account``), before anything cached is looked up. The
content holds nothing about its viewer beyond their role (only a manager may dismiss a gap
flag; whether the viewer is a manager is part of the key): the CSRF token is a placeholder
filled in per request, and the header with the viewer's email is rendered per request around
it. Content is kept as UTF-8 bytes (no objects for the garbage collector to walk: a cache of
500 pages of Python objects made a full collection take 0.4 s) and dropped after
:data:`PAGE_TTL` seconds, so the ages it shows ("waiting 3 d", days to renewal) are at most
that old. Pages are also shared with the deployment's other workers through files
(review_ui.shared_pages), under the same key, fingerprint and age rules.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from clerk.review.decisions import Forbidden, NotFound
from clerk.review.users import User
from clerk.store.db import read_rows
from clerk.store.tables import (
    AccountRow,
    AuditRow,
    GapFlagRow,
    ProofItemRow,
    ShareResponseRow,
    SourceRow,
    SweepStateRow,
    ValueCaseRow,
)
from review_ui.shared_pages import SharedPages

PAGE_TTL = 300.0  # seconds a page is reused at most
MAX_PAGES = 500  # pages one worker keeps (least recently used dropped first): ~45 MB

_account: Any = bindparam("account")


def _sub(column: Any, account_column: Any) -> Any:
    return select(column).where(account_column == _account).scalar_subquery()


_items, _gaps = ProofItemRow.__table__.c, GapFlagRow.__table__.c

# The account row's part of the fingerprint (the access check reads the first, ``csm``).
_ACCOUNT_PART = (
    AccountRow.csm,
    AccountRow.updated_at,
    AccountRow.content_hash,
    AccountRow.evidence_version,
)
# The newest confirmation and sweep dates: also the page's default date (newest_date).
_CONFIRMED = _sub(func.max(func.coalesce(_items.last_confirmed, _items.as_of)), _items.account_id)
_SWEPT = _sub(func.max(SweepStateRow.as_of), SweepStateRow.account_id)
# Everything else the page rests on.
_REST = (
    _sub(ValueCaseRow.content_hash, ValueCaseRow.account_id),
    _sub(ValueCaseRow.updated_at, ValueCaseRow.account_id),
    _sub(func.count(), _items.account_id),
    _sub(func.max(_items.updated_at), _items.account_id),
    _sub(func.sum(_items.version), _items.account_id),
    # a re-sweep that finds the same evidence only moves last_confirmed (the page's date)
    _CONFIRMED,
    _sub(func.count(), _gaps.account_id),
    _sub(func.max(_gaps.updated_at), _gaps.account_id),
    _sub(func.sum(_gaps.version), _gaps.account_id),
    _sub(func.max(AuditRow.id), AuditRow.account_id),
    _sub(func.max(ShareResponseRow.id), ShareResponseRow.account_id),
    _sub(func.count(), SourceRow.account_id),
    _sub(func.max(SourceRow.updated_at), SourceRow.account_id),
    _sub(func.count(), SweepStateRow.account_id),
    _SWEPT,
    _sub(func.max(SweepStateRow.swept_at), SweepStateRow.account_id),
)
# Built once: a prepared statement per process, no per-request statement construction.
FINGERPRINT = select(*_ACCOUNT_PART, *_REST).where(AccountRow.id == _account)
# The same values with the whole account row loaded into the session, for a page about to
# be built: the access check and the current proof then find the row there, no second read.
FINGERPRINT_AND_ACCOUNT = select(AccountRow, *_REST).where(AccountRow.id == _account)


_AT_CONFIRMED = len(_ACCOUNT_PART) + next(i for i, c in enumerate(_REST) if c is _CONFIRMED)
_AT_SWEPT = len(_ACCOUNT_PART) + next(i for i, c in enumerate(_REST) if c is _SWEPT)


def newest_date(fingerprint: tuple[Any, ...]) -> dt.date | None:
    """The account's newest sweep date, else its newest confirmation if later (the page's
    default date, as ``clerk.review.current.latest_as_of`` reads it), from its fingerprint."""
    days = [d for d in (fingerprint[_AT_SWEPT], fingerprint[_AT_CONFIRMED]) if d is not None]
    return max(days) if days else None


def page_fingerprint(
    session: Session, account_id: str, user: User, *, load_account: bool = False
) -> tuple[tuple[Any, ...], AccountRow | None]:
    """What the account's page rests on, in one query; raises NotFound / Forbidden like
    ``check_account`` (an unknown account and one the user may not see). ``load_account``:
    also return the account's row, loaded into ``session`` (the session holds it weakly:
    the caller keeps it while it reads the page), with the same fingerprint."""
    account: AccountRow | None = None
    values: tuple[Any, ...] | None = None
    if load_account:
        row = session.execute(FINGERPRINT_AND_ACCOUNT, {"account": account_id}).first()
        if row is not None:
            account = row[0]
            values = (*(getattr(account, c.key) for c in _ACCOUNT_PART), *row[1:])
    else:
        row = read_rows(session, FINGERPRINT, {"account": account_id}).first()
        values = None if row is None else tuple(row)
    if values is None:
        raise NotFound(f"No account {account_id!r}.")
    if not user.can_access(values[0]):
        raise Forbidden(f"{user.email} may not see or change account {account_id!r}.")
    return values, account


class PageCache:
    """Rendered account-page content by (account, query, role), bounded and short-lived.

    ``shared``: the pages every worker of the deployment stored (review_ui.shared_pages),
    read when this worker has no fresh page under a key and written with every page it
    renders; ``slot`` is this process's CSRF placeholder (review_ui.cards), which the content
    holds."""

    def __init__(
        self,
        max_pages: int = MAX_PAGES,
        ttl: float = PAGE_TTL,
        *,
        shared: SharedPages | None = None,
        slot: str = "",
    ) -> None:
        # one slot per key: (fingerprint, when rendered, title, content)
        self._pages: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], float, str, bytes]]
        self._pages = OrderedDict()
        self._lock = threading.Lock()
        self.max_pages = max_pages
        self.ttl = ttl
        self.hits = 0
        self.shared = shared
        self.slot = slot

    def get(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...]) -> tuple[str, bytes] | None:
        """The title and content rendered under ``key`` at this ``fingerprint``, if fresh:
        this worker's, else the one another worker shared."""
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None and hit[0] == fingerprint and time.monotonic() - hit[1] < self.ttl:
                self._pages.move_to_end(key)
                self.hits += 1
                return hit[2], hit[3]
        if self.shared is None:
            return None
        found = self.shared.get(key, fingerprint, self.slot)
        if found is None:
            return None
        title, body, age = found
        self._keep(key, fingerprint, title, body, age)  # expires when the file does
        return title, body

    def holds(self, key: tuple[Any, ...]) -> bool:
        """Whether a page is kept under ``key`` (of any fingerprint or age)."""
        return key in self._pages

    def put(
        self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], title: str, body: bytes
    ) -> None:
        """Keep a page this worker rendered, and share it."""
        self._keep(key, fingerprint, title, body)
        if self.shared is not None:
            self.shared.put(key, fingerprint, title, body, self.slot)

    def _keep(
        self,
        key: tuple[Any, ...],
        fingerprint: tuple[Any, ...],
        title: str,
        body: bytes,
        age: float = 0.0,
    ) -> None:
        with self._lock:
            self._pages[key] = (fingerprint, time.monotonic() - age, title, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
