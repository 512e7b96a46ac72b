"""clerk.review.decisions: decisions, their audit trail, permissions and optimistic locking."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from clerk.review import decisions as review
from clerk.review.users import User
from clerk.store import Store
from clerk.store.tables import AuditRow, GapFlagRow, ProofItemRow
from tests.review_ui.conftest import seed
from tests.review_ui.factory import calc_item

DANA = User("dana@vendor.example", "csm")
OLGA = User("olga@vendor.example", "csm")
MIA = User("mia@vendor.example", "manager")


def _row(store: Store, item_id: str) -> ProofItemRow:
    with store.session() as session:
        row = session.get(ProofItemRow, item_id)
        assert row is not None
        return row


def _audit(store: Store, target_id: str) -> list[AuditRow]:
    with store.session() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.target_id == target_id)))


def test_approve_records_who_when_before_after(any_store: Store) -> None:
    s = seed(any_store)
    item = review.approve(any_store, s.calc, actor=DANA, version=1)
    assert item.status == "approved" and item.version == 2
    [entry] = _audit(any_store, s.calc)
    assert (entry.actor, entry.action) == ("dana@vendor.example", "approve")
    assert entry.before is not None and entry.before["status"] == "pending"
    assert entry.after is not None and entry.after["status"] == "approved"
    assert abs((entry.at - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()) < 60


def test_second_reviewer_with_stale_version_gets_conflict_and_nothing_is_lost(
    any_store: Store,
) -> None:
    s = seed(any_store)
    review.approve(any_store, s.calc, actor=DANA, version=1)
    with pytest.raises(review.Conflict) as caught:
        review.reject(any_store, s.calc, actor=MIA, version=1, reason="wrong_number")
    assert caught.value.changed_by == "dana@vendor.example"
    assert "Changed by dana@vendor.example at" in str(caught.value)
    assert caught.value.current_version == 2
    row = _row(any_store, s.calc)
    assert (row.status, row.reject_reason, row.reviewed_by) == (
        "approved",
        None,
        "dana@vendor.example",
    )
    assert [a.action for a in _audit(any_store, s.calc)] == ["approve"]


def test_race_past_the_version_check_is_caught_by_the_versioned_update(any_store: Store) -> None:
    """Two sessions read version 1; the second UPDATE matches no row and becomes a Conflict."""
    store = any_store
    s = seed(store)
    with store.session() as first:
        row = first.get(ProofItemRow, s.calc)
        assert row is not None and row.version == 1
        review.approve(store, s.calc, actor=MIA, version=1)  # commits in its own session
        row.status = "rejected"
        before = review.item_state(row)
        with pytest.raises(review.Conflict) as caught:
            review._commit_change(
                first, row, target_type="proof_item", action="reject", actor=DANA, before=before
            )
    assert caught.value.changed_by == "mia@vendor.example"
    assert _row(store, s.calc).status == "approved"


def test_unverified_draft_cannot_be_approved_but_can_be_rejected(store: Store) -> None:
    s = seed(store)
    with pytest.raises(review.InvalidDecision, match="cannot be approved as drafted"):
        review.approve(store, s.unverified, actor=DANA, version=1)
    item = review.reject(
        store, s.unverified, actor=DANA, version=1, reason="wrong_number", note="the log says 1,320"
    )
    assert item.status == "rejected"
    assert _row(store, s.unverified).reject_reason == "Wrong number: the log says 1,320"


@pytest.mark.parametrize(
    ("claim", "verifies"),
    [
        ("Approvals saved 1,320 hours in Q2 2026 (target 1,200).", True),
        ("4,800 automated approvals saved 1,320 hours in Q2 2026.", True),
        ("Approvals saved 1,500 hours in Q2 2026.", False),
        ("Approvals saved 2,000 hours in Q2 2026, 110% of the target.", False),
    ],
)
def test_an_edited_claim_is_reverified(store: Store, claim: str, verifies: bool) -> None:
    s = seed(store)
    if verifies:
        item = review.edit(store, s.calc, actor=DANA, version=1, claim=claim)
        assert (item.status, item.claim, item.asserted_by_csm) == ("edited", claim, False)
        assert _row(store, s.calc).payload["claim"] != claim  # the draft is kept beside it
        return
    with pytest.raises(review.NeedsAssertion) as caught:
        review.edit(store, s.calc, actor=DANA, version=1, claim=claim)
    assert caught.value.errors
    with pytest.raises(review.NeedsAssertion):  # asserting needs a reason too
        review.edit(store, s.calc, actor=DANA, version=1, claim=claim, asserted=True)
    item = review.edit(
        store,
        s.calc,
        actor=DANA,
        version=1,
        claim=claim,
        asserted=True,
        reason="Confirmed with finance on 2026-07-03",
    )
    assert item.asserted_by_csm and item.asserted_reason == "Confirmed with finance on 2026-07-03"
    assert [a.action for a in _audit(store, s.calc)] == ["edit_asserted"]


def test_editing_an_unverified_draft_needs_assertion_when_its_evidence_fails(store: Store) -> None:
    seed(store)
    from tests.review_ui.factory import add_item, statement_item

    bad = statement_item(
        "acme",
        "ticket:acme-7#1",
        "x" * 200 + "we closed in six days",
        "we closed in six days",
        item_id="pi_bad_quote",
        status="unverified",
    )
    add_item(store, bad)  # its quote's offsets do not match the stored source text
    with pytest.raises(review.NeedsAssertion, match="quote not found"):
        review.edit(
            store,
            "pi_bad_quote",
            actor=DANA,
            version=1,
            claim="The customer closed the books in six days.",
        )


@pytest.mark.parametrize(
    ("reason", "note", "ok"),
    [
        ("duplicate", None, True),
        ("other", None, False),
        ("other", "old contract", True),
        ("because", "x", False),
        ("", None, False),
    ],
)
def test_reject_needs_a_listed_reason(
    store: Store, reason: str, note: str | None, ok: bool
) -> None:
    s = seed(store)
    if ok:
        assert (
            review.reject(store, s.calc, actor=DANA, version=1, reason=reason, note=note).status
            == "rejected"
        )
    else:
        with pytest.raises(review.InvalidDecision):
            review.reject(store, s.calc, actor=DANA, version=1, reason=reason, note=note)


def test_a_csm_cannot_touch_another_csms_account(store: Store) -> None:
    s = seed(store)
    with pytest.raises(review.Forbidden):
        review.approve(store, s.calc, actor=OLGA, version=1)
    with pytest.raises(review.Forbidden):
        review.update_gap(store, s.gap, actor=OLGA, version=1, action="acknowledge")
    assert _row(store, s.calc).status == "pending"
    with pytest.raises(review.NotFound):
        review.approve(store, "pi_nope", actor=MIA, version=1)


def test_bulk_approve_keeps_going_past_conflicts_and_refusals(store: Store) -> None:
    s = seed(store)
    from tests.review_ui.factory import add_item

    add_item(store, calc_item("acme", "pi_acme_second"))
    review.approve(store, "pi_acme_second", actor=MIA, version=1)
    result = review.bulk_approve(
        store,
        [(s.calc, 1), ("pi_acme_second", 1), (s.unverified, 1), (s.statement, 1)],
        actor=DANA,
    )
    assert result.approved == [s.calc, s.statement]
    assert [c.target_id for c in result.conflicts] == ["pi_acme_second"]
    assert list(result.refused) == [s.unverified]


def test_gap_actions_are_audited_and_dismissing_takes_a_manager(store: Store) -> None:
    s = seed(store)
    gap = review.update_gap(
        store, s.gap, actor=DANA, version=1, action="assign", owner="Sam@Vendor.example"
    )
    assert gap.owner == "sam@vendor.example"
    gap = review.update_gap(
        store,
        s.gap,
        actor=DANA,
        version=gap.version,
        action="next_action",
        next_action="Call Priya",
        due_date=dt.date(2026, 7, 15),
    )
    assert (gap.next_action, gap.due_date) == ("Call Priya", dt.date(2026, 7, 15))
    gap = review.update_gap(store, s.gap, actor=DANA, version=gap.version, action="acknowledge")
    assert gap.status == "acknowledged"
    with pytest.raises(review.Forbidden, match="manager"):
        review.update_gap(
            store, s.gap, actor=DANA, version=gap.version, action="dismiss", reason="n/a"
        )
    with pytest.raises(review.InvalidDecision, match="reason"):
        review.update_gap(store, s.gap, actor=MIA, version=gap.version, action="dismiss")
    with pytest.raises(review.Conflict):
        review.update_gap(store, s.gap, actor=MIA, version=1, action="dismiss", reason="n/a")
    gap = review.update_gap(
        store,
        s.gap,
        actor=MIA,
        version=gap.version,
        action="dismiss",
        reason="Close time is reported by the ERP now",
    )
    assert gap.status == "dismissed"
    with store.session() as session:
        row = session.get(GapFlagRow, s.gap)
        assert row is not None and row.dismiss_reason == "Close time is reported by the ERP now"
    assert [(a.actor, a.action) for a in _audit(store, s.gap)] == [
        ("dana@vendor.example", "assign"),
        ("dana@vendor.example", "next_action"),
        ("dana@vendor.example", "acknowledge"),
        ("mia@vendor.example", "dismiss"),
    ]


def test_reopen_returns_an_item_to_the_queue(store: Store) -> None:
    s = seed(store)
    review.edit(store, s.calc, actor=DANA, version=1, claim="1,320 hours saved in Q2 2026.")
    item = review.reopen(store, s.calc, actor=MIA, version=2, reason="customer disputes it")
    assert item.status == "pending" and item.claim.startswith("1,320 hours saved on approvals")
    assert [a.action for a in _audit(store, s.calc)] == ["edit", "reopen"]
