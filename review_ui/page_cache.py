"""The account page's read model, kept per worker while the account's data is unchanged.

Building an :class:`~review_ui.queries.AccountPage` takes a dozen queries; reading whether
anything it shows changed takes one (:data:`FINGERPRINT`): indexed aggregates over the
account's rows in every table the page reads (its account and value-case rows, its proof
items, gap flags, audit log, customer answers, sources and sweep dates). A page is reused only
while that fingerprint is the one this request read, so a decision, a sweep, an ingest or a
customer's answer made through any worker process shows on the next page load everywhere.

The access check runs on every request, on the account row the fingerprint reads (the same
rule as ``clerk.review.decisions.check_account``), before any cached page is looked up; a page
holds nothing about its viewer (the user, the CSRF token and the pager links are added when
rendering). A page is also dropped after :data:`PAGE_TTL` seconds, so the ages it shows
("waiting 3 d", pending over 7 days) are at most that old.
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
from review_ui.cards import CardCache
from review_ui.queries import QUEUE_PAGE_SIZE, AccountPage, account_page

PAGE_TTL = 300.0  # seconds a page is reused at most
MAX_PAGES = 500  # pages one worker keeps (least recently used dropped first): ~50 MB

_account: Any = bindparam("account")


def _sub(column: Any, account_column: Any) -> Any:
    return select(column).where(account_column == _account).scalar_subquery()


_items, _gaps = ProofItemRow.__table__.c, GapFlagRow.__table__.c

# Built once: a prepared statement per process, no per-request statement construction.
FINGERPRINT = select(
    AccountRow.csm,
    AccountRow.updated_at,
    AccountRow.content_hash,
    AccountRow.evidence_version,
    _sub(ValueCaseRow.content_hash, ValueCaseRow.account_id),
    _sub(ValueCaseRow.updated_at, ValueCaseRow.account_id),
    _sub(func.count(), _items.account_id),
    _sub(func.max(_items.updated_at), _items.account_id),
    _sub(func.sum(_items.version), _items.account_id),
    # a re-sweep that finds the same evidence only moves last_confirmed (the page's date)
    _sub(func.max(func.coalesce(_items.last_confirmed, _items.as_of)), _items.account_id),
    _sub(func.count(), _gaps.account_id),
    _sub(func.max(_gaps.updated_at), _gaps.account_id),
    _sub(func.sum(_gaps.version), _gaps.account_id),
    _sub(func.max(AuditRow.id), AuditRow.account_id),
    _sub(func.max(ShareResponseRow.id), ShareResponseRow.account_id),
    _sub(func.count(), SourceRow.account_id),
    _sub(func.max(SourceRow.updated_at), SourceRow.account_id),
    _sub(func.count(), SweepStateRow.account_id),
    _sub(func.max(SweepStateRow.as_of), SweepStateRow.account_id),
    _sub(func.max(SweepStateRow.swept_at), SweepStateRow.account_id),
).where(AccountRow.id == _account)


def page_fingerprint(session: Session, account_id: str, user: User) -> tuple[Any, ...]:
    """What the account's page rests on, in one query; raises NotFound / Forbidden like
    ``check_account`` (an unknown account and one the user may not see)."""
    row = session.execute(FINGERPRINT, {"account": account_id}).first()
    if row is None:
        raise NotFound(f"No account {account_id!r}.")
    if not user.can_access(row[0]):
        raise Forbidden(f"{user.email} may not see or change account {account_id!r}.")
    return tuple(row)


class PageCache:
    """Account pages by (account, query, fingerprint), bounded and short-lived."""

    def __init__(self, max_pages: int = MAX_PAGES, ttl: float = PAGE_TTL) -> None:
        # one slot per (account, as_of, outcome, page): (fingerprint, when built, page)
        self._pages: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], float, AccountPage]]
        self._pages = OrderedDict()
        self._lock = threading.Lock()
        self.max_pages = max_pages
        self.ttl = ttl

    def account_page(
        self,
        session: Session,
        account_id: str,
        user: User,
        *,
        as_of: dt.date | None = None,
        outcome: str | None = None,
        page: int = 1,
        cards: CardCache | None = None,
    ) -> AccountPage:
        """:func:`review_ui.queries.account_page`, reused while its fingerprint holds."""
        fingerprint = page_fingerprint(session, account_id, user)
        key = (account_id, as_of, outcome, page)
        now = time.monotonic()
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None and hit[0] == fingerprint and now - hit[1] < self.ttl:
                self._pages.move_to_end(key)
                return hit[2]
        view = account_page(
            session,
            account_id,
            user,
            as_of=as_of,
            outcome=outcome,
            page=page,
            page_size=QUEUE_PAGE_SIZE,
            cards=cards,
        )
        with self._lock:
            self._pages[key] = (fingerprint, now, view)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        return view

    def __len__(self) -> int:
        return len(self._pages)
