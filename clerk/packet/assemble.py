"""The Value Proof Packet: assembly (pure), drafts, publishing (immutable versions).

A packet is the account's current proof (clerk.review.current) at a date. Only approved and
edited items reach it; every open or acknowledged gap flag does. A rejected item never shows,
and neither does its number: a gap flag that repeats a rejected figure is reworded without
it. A published packet is a snapshot stored whole in ``packets``; publishing again makes the
next version and never changes an earlier one. How much of a gap flag a reader sees (the
customer or the vendor's team) is the renderer's business: clerk.packet.render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clerk.domain.models import Account, GapFlag, Outcome, OutcomeTrend, Packet, ProofItem
from clerk.domain.textnum import NumberMention, numbers_in
from clerk.domain.vocabulary import (
    OPEN_GAP_STATUSES,
    PROVEN_STATUSES,
    kind_rank,
    severity_rank,
)
from clerk.engine.verify import grounded
from clerk.packet.trend import outcome_trends
from clerk.review.current import current_proof
from clerk.review.decisions import (
    NotFound,
    check_account,
    effective_item,
)
from clerk.review.shares import confirmations
from clerk.review.users import User
from clerk.store import Store
from clerk.store.rows import gap_from_row
from clerk.store.tables import PacketRow, utcnow


def assemble_packet(
    account: Account,
    outcomes: Iterable[Outcome],
    items: Iterable[ProofItem],
    gaps: Iterable[GapFlag],
    *,
    as_of: dt.date,
    version: int,
    published_at: dt.datetime | None = None,
    published_by: str | None = None,
    trends: Iterable[OutcomeTrend] = (),
) -> Packet:
    """The packet from an account's reviewed items and gap flags (pure).

    Items not approved or edited are left out; gap flags that are open or acknowledged are
    all kept (a packet never hides missing proof), highest severity first, with any number
    of a rejected item taken out of their wording.
    """
    outcomes = list(outcomes)
    items = list(items)
    titles = {o.id: o.title for o in outcomes}
    rejected = [i for i in items if i.status == "rejected"]
    position = {o.id: i for i, o in enumerate(outcomes)}
    kept_items = sorted(
        (i for i in items if i.status in PROVEN_STATUSES),
        key=lambda i: (
            position.get(i.outcome or "", len(position)),
            kind_rank(i.kind),
            i.id,
        ),
    )
    kept_gaps = sorted(
        (without_rejected(g, rejected, titles) for g in gaps if g.status in OPEN_GAP_STATUSES),
        key=lambda g: (
            severity_rank(g.severity),
            position.get(g.outcome or "", -1),
            g.kind,
            g.id,
        ),
    )
    return Packet(
        account=account,
        as_of=as_of,
        version=version,
        published_at=published_at,
        published_by=published_by,
        proof_items=kept_items,
        gap_flags=kept_gaps,
        outcomes=outcomes,
        trends=list(trends),
    )


def _numbers(text: str) -> list[NumberMention]:
    return numbers_in(text)


def without_rejected(gap: GapFlag, rejected: list[ProofItem], titles: dict[str, str]) -> GapFlag:
    """``gap`` with no number of a rejected item of its outcome in its wording.

    A reviewer who rejects "38 people" as wrong must not find 38 again in the gap section: the
    flag's message (and next action, risk) is reworded around the missing proof instead.
    """
    mine = [i for i in rejected if i.outcome == gap.outcome]
    values = [
        v
        for i in mine
        for v in [i.delivered, *(m.value for m in _numbers(i.claim))]
        if v is not None and v != i.target
    ]
    if not values:
        return gap

    def repeats(text: str) -> bool:
        return any(grounded(m, values) for m in _numbers(text))

    if not any(repeats(t) for t in (gap.message, gap.next_action, gap.risk)):
        return gap
    title = titles.get(gap.outcome or "", "The payback") if gap.outcome else "The payback"
    period = f" for {gap.period.label}" if gap.period and gap.period.label else ""
    update = {}
    if repeats(gap.message):
        update["message"] = (
            f"{title}{period} is not yet proven: the figure drafted for it was rejected in review."
        )
    if repeats(gap.next_action):
        update["next_action"] = f"Recheck the evidence behind {title.lower()} and draft it again."
    if repeats(gap.risk):
        update["risk"] = "The packet cannot state this outcome until a figure is approved."
    return gap.model_copy(update=update)


def _next_version(session: Session, account_id: str) -> int:
    latest = session.scalar(
        select(func.max(PacketRow.version)).where(PacketRow.account_id == account_id)
    )
    return (latest or 0) + 1


def _draft(session: Session, account_id: str, as_of: dt.date | None) -> Packet:
    """The packet of the account's current proof (clerk.review.current) at ``as_of``."""
    try:
        proof = current_proof(session, account_id, as_of)
    except LookupError:
        raise NotFound(f"No account {account_id!r}.") from None
    day = proof.as_of or as_of or utcnow().date()
    items = [effective_item(r) for r in proof.items]
    proven = {i.outcome for i in items if i.outcome and i.status in PROVEN_STATUSES}
    packet = assemble_packet(
        proof.account,
        proof.outcomes,
        items,
        [gap_from_row(g) for g in proof.gaps],
        as_of=day,
        version=_next_version(session, account_id),
        trends=outcome_trends(session, proof.account, proof.value_case, day, proven),
    )
    # what the customer confirmed from an earlier version's share link (issue 16)
    packet.confirmations = confirmations(session, packet.proof_items)
    return packet


def draft_packet(
    store: Store, account_id: str, *, actor: User | None = None, as_of: dt.date | None = None
) -> Packet:
    """The packet as it would be published now (``version`` is the next one, unpublished).

    ``actor`` None means a trusted local caller (the CLI); otherwise access is checked.
    """
    with store.session() as session:
        if actor is not None:
            check_account(session, account_id, actor)
        return _draft(session, account_id, as_of)


def publish_packet(
    store: Store,
    account_id: str,
    *,
    actor: User | None = None,
    published_by: str | None = None,
    as_of: dt.date | None = None,
) -> Packet:
    """Store the current packet as the next immutable version and return it."""
    by = actor.email if actor is not None else (published_by or "cli")
    for _attempt in range(3):
        try:
            with store.session() as session:
                if actor is not None:
                    check_account(session, account_id, actor)
                packet = _draft(session, account_id, as_of)
                packet = packet.model_copy(
                    update={"published_at": utcnow().replace(microsecond=0), "published_by": by}
                )
                session.add(
                    PacketRow(
                        account_id=account_id,
                        version=packet.version,
                        as_of=packet.as_of,
                        published_at=packet.published_at,
                        published_by=by,
                        payload=packet.model_dump(mode="json"),
                    )
                )
                session.flush()
                return packet
        except IntegrityError:
            # Someone published the same version at the same moment: take the next one.
            continue
    raise RuntimeError(f"could not publish a packet for {account_id}: versions kept colliding")


@dataclass
class PublishedPacket:
    version: int
    as_of: dt.date
    published_at: dt.datetime
    published_by: str


def published_packets(
    store: Store, account_id: str, *, actor: User | None = None
) -> list[PublishedPacket]:
    """The account's published versions, newest first."""
    with store.session() as session:
        if actor is not None:
            check_account(session, account_id, actor)
        rows = session.scalars(
            select(PacketRow)
            .where(PacketRow.account_id == account_id)
            .order_by(PacketRow.version.desc())
        )
        return [PublishedPacket(r.version, r.as_of, r.published_at, r.published_by) for r in rows]


def get_packet(store: Store, account_id: str, version: int, *, actor: User | None = None) -> Packet:
    """A published version exactly as it was published."""
    with store.session() as session:
        if actor is not None:
            check_account(session, account_id, actor)
        row = session.scalar(
            select(PacketRow).where(
                PacketRow.account_id == account_id, PacketRow.version == version
            )
        )
        if row is None:
            raise NotFound(f"No published packet {version} for {account_id!r}.")
        return Packet.model_validate(row.payload)
