"""The sweep raises unconfirmed_by_customer for a shared packet nobody answered (issue 16)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from clerk.ingest import run_ingest
from clerk.packet.assemble import publish_packet
from clerk.review import decisions as review
from clerk.review.shares import Submission, create_share, record_responses
from clerk.review.users import User
from clerk.store import Store
from clerk.store.tables import GapFlagRow, ProofItemRow, ShareLinkRow
from clerk.sweep.run import run_sweep
from tests.sweep.helpers import AS_OF

ADMIN = User("root@vendor.example", "admin")


def _flag(store: Store) -> GapFlagRow | None:
    with store.session() as session:
        return session.scalar(
            select(GapFlagRow).where(GapFlagRow.kind == "unconfirmed_by_customer")
        )


def test_an_unanswered_share_becomes_a_gap_until_the_customer_answers(
    store: Store, example_dir: Path
) -> None:
    run_ingest(example_dir, store)
    run_sweep(store, as_of=AS_OF)
    with store.session() as session:
        item = session.scalar(
            select(ProofItemRow).where(
                ProofItemRow.outcome_id == "hours_saved", ProofItemRow.kind == "calculation"
            )
        )
        assert item is not None
        item_id = item.id
    review.approve(store, item_id, actor=ADMIN, version=1)
    publish_packet(store, "northwind", actor=ADMIN)
    token, _ = create_share(store, "northwind", actor=ADMIN)
    with store.session() as session:  # shared three weeks before the as-of date
        session.execute(update(ShareLinkRow).values(created_at=dt.datetime(2026, 6, 10, 9)))

    again = run_sweep(store, as_of=AS_OF)
    assert again.swept == 1  # the share changed the fingerprint: not skipped
    flag = _flag(store)
    assert flag is not None and flag.status == "open" and flag.outcome_id is None
    assert flag.payload["message"] == (
        "Packet version 1 was shared with the customer on 2026-06-10 and has had no answer "
        "in 21 days."
    )
    assert run_sweep(store, as_of=AS_OF).skipped == 1

    record_responses(
        store,
        token,
        Submission("Priya Raman", "priya@northwind.example", {item_id: ("confirm", "")}),
    )
    # the answer is dated today, after this as-of: at AS_OF the packet was still unanswered
    run_sweep(store, as_of=AS_OF)
    assert _flag(store).status == "open"  # type: ignore[union-attr]
    today = dt.datetime.now(dt.UTC).date()
    run_sweep(store, as_of=today)
    with store.session() as session:
        flags = session.scalars(
            select(GapFlagRow).where(
                GapFlagRow.kind == "unconfirmed_by_customer", GapFlagRow.as_of == today
            )
        ).all()
    assert flags == []
