"""Share links: one published packet version shown to the customer, and their answers.

A link is a random token (``secrets.token_urlsafe(32)``, 256 bits) of which only the sha256 is
stored, so the URL exists once, when it is made. It is scoped to one version of one account,
expires, and can be revoked. Through it the customer's champion confirms or questions each
proof item and may leave one overall comment, naming themself with an email address of one of
the account's ``customer_domains``.

Answers are append-only rows (``share_responses``) the vendor can never edit; each item
answer is also an ``audit_log`` entry on the item (actor ``customer: Name <email>``). A
questioned item that was approved or edited goes back to the CSM's queue (status pending,
or unverified for a draft that failed verification; the CSM's edit is dropped as on a
reopen, and stays in the audit trail), with the question shown on its card.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from clerk.domain.models import Account, CustomerConfirmation, Packet, ProofItem
from clerk.domain.vocabulary import DECIDED_STATUSES
from clerk.review.decisions import (
    InvalidDecision,
    NotFound,
    check_account,
    draft_item,
    effective_item,
    item_state,
)
from clerk.review.users import User
from clerk.store import Store
from clerk.store.db import read_rows
from clerk.store.tables import (
    AccountRow,
    AuditRow,
    PacketRow,
    ProofItemRow,
    ShareLinkRow,
    ShareResponseRow,
    utcnow,
)

LinkState = Literal["active", "expired", "revoked"]
Answer = Literal["confirm", "question"]
ANSWERS: tuple[str, ...] = ("confirm", "question")
MAX_COMMENT = 2000
MAX_EXPIRES_DAYS = 365
_EMAIL = re.compile(r"^[^@\s<>\"]+@([a-z0-9-]+(\.[a-z0-9-]+)+)$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_days(text: str) -> int:
    """ "30d", "30" or "2w" -> days (1..365)."""
    found = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text or "")
    if not found:
        raise InvalidDecision(f"Expiry {text!r}: write a number of days, like 30d or 2w.")
    days = int(found.group(1)) * (7 if found.group(2) == "w" else 1)
    if not 1 <= days <= MAX_EXPIRES_DAYS:
        raise InvalidDecision(f"Expiry {text!r}: between 1 and {MAX_EXPIRES_DAYS} days.")
    return days


@dataclass
class ShareLink:
    id: int
    account_id: str
    version: int
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    responses: int = 0
    overall: list[ShareResponseRow] = field(default_factory=list)

    def state(self, now: dt.datetime | None = None) -> LinkState:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if (now or utcnow()) >= self.expires_at else "active"


def _link(row: ShareLinkRow, responses: int = 0) -> ShareLink:
    return ShareLink(
        row.id,
        row.account_id,
        row.version,
        row.created_by,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.revoked_by,
        responses,
    )


def create_share(
    store: Store,
    account_id: str,
    *,
    version: int | None = None,
    days: int = 30,
    actor: User | None = None,
    created_by: str | None = None,
) -> tuple[str, ShareLink]:
    """A new link to a published version (default: the newest). Returns (token, link); the
    token is not stored and cannot be shown again. ``actor`` None: a trusted local caller."""
    if not 1 <= days <= MAX_EXPIRES_DAYS:
        raise InvalidDecision(f"A link expires after 1 to {MAX_EXPIRES_DAYS} days, not {days}.")
    with store.session() as session:
        if actor is not None:
            check_account(session, account_id, actor)
        elif session.get(AccountRow, account_id) is None:
            raise NotFound(f"No account {account_id!r}.")
        if version is None:
            version = session.scalar(
                select(func.max(PacketRow.version)).where(PacketRow.account_id == account_id)
            )
            if version is None:
                raise InvalidDecision(
                    f"{account_id} has no published packet yet: publish one, then share it."
                )
        elif not session.scalar(
            select(PacketRow.id).where(
                PacketRow.account_id == account_id, PacketRow.version == version
            )
        ):
            raise NotFound(f"No published packet {version} for {account_id!r}.")
        token = secrets.token_urlsafe(32)
        now = utcnow().replace(microsecond=0)
        row = ShareLinkRow(
            account_id=account_id,
            version=version,
            token_hash=hash_token(token),
            created_by=actor.email if actor is not None else (created_by or "cli"),
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
        session.add(row)
        session.flush()
        return token, _link(row)


def _find(session: Session, token_or_id: str) -> ShareLinkRow | None:
    if token_or_id.isdigit():
        return session.get(ShareLinkRow, int(token_or_id))
    return session.scalar(
        select(ShareLinkRow).where(ShareLinkRow.token_hash == hash_token(token_or_id))
    )


def revoke_share(
    store: Store,
    token_or_id: str,
    *,
    actor: User | None = None,
    revoked_by: str | None = None,
    account_id: str | None = None,
) -> ShareLink:
    """Revoke a link by its id or its token; a revoked link shows nothing any more."""
    with store.session() as session:
        row = _find(session, token_or_id.strip())
        if row is None or (account_id is not None and row.account_id != account_id):
            raise NotFound("No such share link.")
        if actor is not None:
            check_account(session, row.account_id, actor)
        if row.revoked_at is None:
            row.revoked_at = utcnow().replace(microsecond=0)
            row.revoked_by = actor.email if actor is not None else (revoked_by or "cli")
        return _link(row)


def list_shares(store: Store, account_id: str, *, actor: User | None = None) -> list[ShareLink]:
    """The account's links, newest first, with how many answers each has had."""
    with store.session() as session:
        if actor is not None:
            check_account(session, account_id, actor)
        counts = dict(
            session.execute(
                select(ShareResponseRow.share_id, func.count())
                .where(ShareResponseRow.account_id == account_id)
                .group_by(ShareResponseRow.share_id)
            ).all()
        )
        overall: dict[int, list[ShareResponseRow]] = {}
        for r in session.scalars(
            select(ShareResponseRow)
            .where(ShareResponseRow.account_id == account_id, ShareResponseRow.kind == "comment")
            .order_by(ShareResponseRow.id)
        ):
            overall.setdefault(r.share_id, []).append(r)
        rows = session.scalars(
            select(ShareLinkRow)
            .where(ShareLinkRow.account_id == account_id)
            .order_by(ShareLinkRow.id.desc())
        )
        links = []
        for row in rows:
            link = _link(row, counts.get(row.id, 0))
            link.overall = overall.get(row.id, [])
            links.append(link)
        return links


# --- the customer's side ------------------------------------------------------------------


@dataclass
class OpenedLink:
    """What a token opens: nothing (unknown), a dead link (expired / revoked), or a packet."""

    state: LinkState | Literal["unknown"]
    link: ShareLink | None = None
    packet: Packet | None = None
    answers: dict[str, ItemResponse] = field(default_factory=dict)


def open_share(store: Store, token: str, *, now: dt.datetime | None = None) -> OpenedLink:
    """Look a token up. Only an active link loads its packet and the answers given so far."""
    if not token or len(token) > 128:
        return OpenedLink("unknown")
    with store.session() as session:
        row = session.scalar(
            select(ShareLinkRow).where(ShareLinkRow.token_hash == hash_token(token))
        )
        if row is None:
            return OpenedLink("unknown")
        link = _link(row)
        state = link.state(now)
        if state != "active":
            return OpenedLink(state, link)
        payload = session.scalar(
            select(PacketRow.payload).where(
                PacketRow.account_id == row.account_id, PacketRow.version == row.version
            )
        )
        if payload is None:  # pragma: no cover - packets are never deleted
            return OpenedLink("unknown")
        packet = Packet.model_validate(payload)
        answers = item_responses(session, [i.id for i in packet.proof_items], share_id=row.id)
        return OpenedLink("active", link, packet, answers)


def email_allowed(email: str, account: Account) -> bool:
    """The email's domain is one of the account's customer domains (or a subdomain); an
    account without any falls back to its champion's domain."""
    found = _EMAIL.match(email)
    if not found:
        return False
    domain = found.group(1)
    domains = [d.lower().lstrip("@") for d in account.customer_domains]
    if not domains and account.champion and account.champion.email:
        domains = [account.champion.email.rsplit("@", 1)[-1].lower()]
    return any(domain == d or domain.endswith("." + d) for d in domains)


@dataclass
class Submission:
    name: str
    email: str
    answers: dict[str, tuple[Answer, str]]  # item id -> (answer, comment)
    overall: str = ""


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_COMMENT]


def validate(submission: Submission, packet: Packet) -> list[str]:
    """Everything wrong with a submission, in words the champion can act on."""
    errors = []
    if not _clean(submission.name):
        errors.append("Give your name.")
    if not email_allowed(submission.email.strip().lower(), packet.account):
        errors.append(
            f"Use your work email at {packet.account.name} "
            "(this packet accepts answers only from the customer's own domain)."
        )
    items = {i.id for i in packet.proof_items}
    for item_id, (answer, comment) in submission.answers.items():
        if item_id not in items or answer not in ANSWERS:
            errors.append("An answer names an item that is not in this packet.")
        elif answer == "question" and not _clean(comment):
            errors.append("A question needs a comment: say what is wrong or missing.")
    if not submission.answers and not _clean(submission.overall):
        errors.append("Confirm or question at least one item, or leave a comment.")
    return sorted(set(errors), key=errors.index)


def record_responses(store: Store, token: str, submission: Submission) -> OpenedLink:
    """Store the champion's answers (one transaction) and send questioned items back to the
    CSM's queue. Raises NotFound for a dead link, InvalidDecision with every problem."""
    opened = open_share(store, token)
    if opened.state != "active" or opened.packet is None or opened.link is None:
        raise NotFound("This link is no longer active.")
    errors = validate(submission, opened.packet)
    if errors:
        raise InvalidDecision(" ".join(errors))
    name, email = _clean(submission.name)[:200], submission.email.strip().lower()
    actor = f"customer: {name} <{email}>"[:255]
    claims = {i.id: i.claim for i in opened.packet.proof_items}
    link = opened.link
    for _attempt in range(3):
        try:
            with store.session() as session:
                _store_answers(session, link, submission, name, email, actor, claims)
            break
        except StaleDataError:
            continue  # a CSM changed a questioned item at the same moment: write it again
    else:
        raise InvalidDecision("The packet's items kept changing while saving: send again.")
    return open_share(store, token)


def _store_answers(
    session: Session,
    link: ShareLink,
    submission: Submission,
    name: str,
    email: str,
    actor: str,
    claims: dict[str, str],
) -> None:
    now = utcnow()
    for item_id, (answer, comment) in submission.answers.items():
        text = _clean(comment) or None
        session.add(
            ShareResponseRow(
                share_id=link.id,
                account_id=link.account_id,
                version=link.version,
                item_id=item_id,
                kind=answer,
                comment=text,
                claim=claims[item_id],
                responder_name=name,
                responder_email=email,
                at=now,
            )
        )
        row = session.get(ProofItemRow, item_id)
        before = after = None
        if row is not None and row.account_id == link.account_id:
            before = item_state(row)
            if answer == "question" and row.status in DECIDED_STATUSES:
                row.status = "unverified" if draft_item(row).verification_errors else "pending"
                row.edited = None
                row.reject_reason = None
                row.updated_at = now
                session.flush()
            after = item_state(row)
            if after == before:  # a confirmation (or a second question) changes nothing
                before = after = None
        session.add(
            AuditRow(
                target_type="proof_item",
                target_id=item_id,
                account_id=link.account_id,
                action=f"customer_{answer}",
                actor=actor,
                at=now,
                before=before,
                after=after,
                reason=f"packet v{link.version}" + (f": {text}" if text else ""),
            )
        )
    overall = _clean(submission.overall)
    if overall:
        session.add(
            ShareResponseRow(
                share_id=link.id,
                account_id=link.account_id,
                version=link.version,
                item_id=None,
                kind="comment",
                comment=overall,
                responder_name=name,
                responder_email=email,
                at=now,
            )
        )


# --- what the vendor sees -------------------------------------------------------------------


@dataclass
class ItemResponse:
    """The customer's latest answer on an item."""

    answer: Answer
    name: str
    email: str
    at: dt.datetime
    version: int
    comment: str | None
    claim: str | None

    @property
    def label(self) -> str:
        if self.answer == "confirm":
            return f"Confirmed by {self.name} on {self.at.date().isoformat()}"
        return f"Questioned by {self.name}: {self.comment or ''}"


# Built once: the review page asks on every load.
_ANSWERS = (
    select(  # plain columns: read only, no ORM objects
        ShareResponseRow.item_id,
        ShareResponseRow.kind,
        ShareResponseRow.responder_name,
        ShareResponseRow.responder_email,
        ShareResponseRow.at,
        ShareResponseRow.version,
        ShareResponseRow.comment,
        ShareResponseRow.claim,
    )
    .where(
        ShareResponseRow.item_id.in_(bindparam("ids", expanding=True)),
        ShareResponseRow.kind.in_(ANSWERS),
    )
    .order_by(ShareResponseRow.id)
)


def item_responses(
    session: Session, item_ids: Iterable[str], *, share_id: int | None = None
) -> dict[str, ItemResponse]:
    """Each item's latest confirm / question (on one link, or on any), in one query."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    query, params = _ANSWERS, {"ids": ids}
    if share_id is not None:
        query = query.where(ShareResponseRow.share_id == share_id)
    latest: dict[str, ItemResponse] = {}
    for r in read_rows(session, query, params):
        assert r.item_id is not None
        latest[r.item_id] = ItemResponse(
            r.kind,
            r.responder_name,
            r.responder_email,
            r.at,
            r.version,
            r.comment,
            r.claim,
        )
    return latest


def confirmations(session: Session, items: Iterable[ProofItem]) -> list[CustomerConfirmation]:
    """The items the customer confirmed worded exactly as they are now and not questioned
    since: a new version of the packet carries "Confirmed by ..." beside them."""
    items = list(items)
    answers = item_responses(session, [i.id for i in items])
    out = []
    for item in items:
        a = answers.get(item.id)
        if a is not None and a.answer == "confirm" and a.claim == item.claim:
            out.append(
                CustomerConfirmation(item_id=item.id, name=a.name, at=a.at, version=a.version)
            )
    return out


def confirmed_outcomes(session: Session, proven: Iterable[str]) -> set[tuple[str, str]]:
    """(account, outcome) pairs with an approved or edited item the customer confirmed."""
    rows = {
        r.id: r
        for r in session.scalars(
            select(ProofItemRow).where(
                ProofItemRow.id.in_(
                    select(ShareResponseRow.item_id).where(ShareResponseRow.kind == "confirm")
                ),
                ProofItemRow.status.in_(tuple(proven)),
                ProofItemRow.outcome_id.is_not(None),
            )
        )
    }
    items = [effective_item(r) for r in rows.values()]
    return {
        (rows[c.item_id].account_id, rows[c.item_id].outcome_id or "")
        for c in confirmations(session, items)
    }


def unanswered_accounts(session: Session, days: int, now: dt.datetime | None = None) -> set[str]:
    """Accounts whose newest share link (not revoked) is ``days`` old or more and unanswered."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    newest = (
        select(ShareLinkRow.account_id, func.max(ShareLinkRow.id).label("id"))
        .where(ShareLinkRow.revoked_at.is_(None))
        .group_by(ShareLinkRow.account_id)
        .subquery()
    )
    answered = select(ShareResponseRow.share_id)
    return set(
        session.scalars(
            select(ShareLinkRow.account_id)
            .join(newest, newest.c.id == ShareLinkRow.id)
            .where(ShareLinkRow.created_at <= cutoff, ShareLinkRow.id.not_in(answered))
        )
    )
