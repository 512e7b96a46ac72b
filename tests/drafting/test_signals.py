"""Negative signals: an unresolved customer complaint in the period is flagged, history is not."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

from clerk.domain.models import Outcome, OutcomeInput, Source
from clerk.drafting.extractive import ExtractiveDrafter
from clerk.drafting.signals import complaint, is_fix, negative_signals, outcome_keywords, stem
from tests.drafting.sources import (
    EXAMPLE,
    example_account,
    example_sources,
    example_value_case,
    note_source,
    request_for,
    ticket_sources,
)

OUTCOMES = ["hours_saved", "cost_recovered", "close_days", "active_approvers"]


def _example_ticket() -> dict[str, Any]:
    export = json.loads((EXAMPLE / "tickets/zendesk-export.json").read_text())
    return copy.deepcopy(next(t for t in export["tickets"] if t["id"] == 48121))


def _sources_with_ticket(ticket: dict[str, Any]) -> dict[str, Source]:
    sources = {k: v for k, v in example_sources().items() if not k.startswith("ticket:48121")}
    sources.update({s.id: s for s in ticket_sources("northwind", ticket)})
    return sources


def _note(
    name: str,
    body: str,
    *,
    date: str = "2026-05-20",
    kind: str = "call",
    author: str = "dana@vendor.example",
) -> Source:
    text = f"---\ndate: {date}\nauthor: {author}\nkind: {kind}\n---\n{body}\n"
    return note_source(example_account(), name, text)


@pytest.mark.parametrize("outcome_id", OUTCOMES)
def test_the_shared_example_has_no_negative_signal(outcome_id: str) -> None:
    # Ticket 48121 was solved and the customer confirmed the fix: history, not a signal.
    result = asyncio.run(ExtractiveDrafter().draft(request_for(outcome_id)))
    assert result.negative_signals == []


def test_an_unresolved_complaint_in_the_period_is_flagged_with_its_words() -> None:
    ticket = _example_ticket()
    ticket["status"] = "open"
    ticket["comments"] = ticket["comments"][:2]  # no fix, no confirmation
    request = request_for("hours_saved", _sources_with_ticket(ticket))

    [signal] = negative_signals(request)
    [citation] = signal.citations
    assert citation.source == "ticket:48121#1"
    assert citation.quote == (
        "Since Monday the auto-approval rule skips every invoice over 5k, so my team is "
        "approving those by hand again"
    )
    assert request.sources[citation.source].text[citation.start : citation.end] == citation.quote
    assert signal.reason.startswith(
        "The customer reported a problem with hours saved on invoice approvals on April 20, 2026"
    )


@pytest.mark.parametrize(
    ("status", "later_comment", "flagged"),
    [
        ("solved", "Confirmed, thanks. The queue cleared in an hour.", False),
        ("open", "Works now, thanks!", False),  # the customer's word settles it before the status
        ("solved", None, False),  # solved and never complained of again
        ("closed", None, False),
        ("pending", None, True),
        ("open", "Any news? We are still approving these by hand.", True),
        ("solved", "No, it is still failing for invoices over 5k.", True),  # reopened in words
    ],
)
def test_ticket_resolution_decides_whether_a_complaint_is_history(
    status: str, later_comment: str | None, flagged: bool
) -> None:
    ticket = _example_ticket()
    ticket["status"] = status
    ticket["comments"] = ticket["comments"][:3]
    if later_comment:
        ticket["comments"].append(
            {
                "id": 9,
                "author_id": 901,
                "public": True,
                "plain_body": later_comment,
                "created_at": "2026-04-24T09:00:00Z",
            }
        )
    signals = negative_signals(request_for("hours_saved", _sources_with_ticket(ticket)))
    assert bool(signals) is flagged


def test_a_bad_satisfaction_rating_keeps_a_solved_complaint_open() -> None:
    ticket = _example_ticket()
    ticket["comments"] = ticket["comments"][:3]
    ticket["satisfaction_rating"] = {"score": "bad", "comment": "still slow to fix"}
    assert negative_signals(request_for("hours_saved", _sources_with_ticket(ticket)))


@pytest.mark.parametrize(
    ("body", "kind", "author", "date"),
    [
        # the vendor's own words in a note are not the customer's, however alarming
        (
            "Internal: auto-approval is failing for Northwind, invoices approved by hand again.",
            "note",
            "dana@vendor.example",
            "2026-05-20",
        ),
        # the customer's complaint, but outside Q2 2026
        (
            'Priya said "the auto-approval rule is broken, we approve invoices by hand again".',
            "call",
            "dana@vendor.example",
            "2026-03-20",
        ),
        # inside the period, but about something else than this outcome
        (
            'Priya said "the export to the auditors is broken".',
            "call",
            "dana@vendor.example",
            "2026-05-20",
        ),
        # words of praise that mention failure only to deny it
        (
            'Priya said "no errors since April, approvals of invoices run on their own".',
            "call",
            "dana@vendor.example",
            "2026-05-20",
        ),
    ],
)
def test_no_signal_from_vendor_words_other_periods_other_topics_or_praise(
    body: str, kind: str, author: str, date: str
) -> None:
    note = _note("n.md", body, kind=kind, author=author, date=date)
    assert negative_signals(request_for("hours_saved", {note.id: note})) == []


def test_an_internal_ticket_comment_is_not_a_signal() -> None:
    ticket = _example_ticket()
    ticket.update(status="open", subject="Question", description="About invoices.")
    ticket["comments"] = [
        {
            "id": 2,
            "author_id": 77,
            "public": False,
            "created_at": "2026-04-21T09:00:00Z",
            "plain_body": "Auto-approval failing for all invoices, regression.",
        }
    ]
    assert negative_signals(request_for("hours_saved", _sources_with_ticket(ticket))) == []


@pytest.mark.parametrize(
    ("body", "kind", "author"),
    [
        (
            'Priya said "the auto-approval rule keeps failing and we approve invoices by hand".',
            "call",
            "dana@vendor.example",
        ),
        (
            "Dana, approvals are not working since the update. Invoices pile up.",
            "email",
            "priya@northwind.example",
        ),
        (
            'Tom said "if invoice approvals stay this broken we will not renew".',
            "qbr",
            "dana@vendor.example",
        ),
    ],
)
def test_a_customer_complaint_in_a_note_or_email_is_flagged(
    body: str, kind: str, author: str
) -> None:
    note = _note("n.md", body, kind=kind, author=author)
    [signal] = negative_signals(request_for("hours_saved", {note.id: note}))
    c = signal.citations[0]
    assert c.source == note.id
    assert note.is_customer_text(c.start, c.end)
    assert note.text[c.start : c.end] == c.quote


def test_a_later_customer_confirmation_settles_a_note_complaint() -> None:
    complaint_note = _note(
        "a.md", 'Priya said "the auto-approval rule keeps failing".', date="2026-05-02"
    )
    fixed = _note(
        "b.md", 'Priya said "the auto-approval rule works now, thanks".', date="2026-05-20"
    )
    sources = {complaint_note.id: complaint_note, fixed.id: fixed}
    assert negative_signals(request_for("hours_saved", sources)) == []
    # Without the later confirmation the same complaint is a signal.
    assert negative_signals(request_for("hours_saved", {complaint_note.id: complaint_note}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my team is approving those by hand again", True),
        ("the rule skips every invoice over 5k", True),
        ("approvals are not working since Monday", True),
        ("we are back to manual approvals", True),
        ("we plan to cancel our subscription", True),
        ("we will not renew", True),
        ("fixed the failing rule, works now", False),
        ("no errors since the fix", False),
        ("fewer errors than last quarter", False),
        ("we used to approve by hand, now it is automatic", False),
        ("the AP team no longer works weekends", False),
    ],
)
def test_complaint_cues(text: str, expected: bool) -> None:
    assert complaint(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Confirmed, thanks.", True), ("It works now", True), ("Thanks for looking", False)],
)
def test_fix_cues(text: str, expected: bool) -> None:
    assert is_fix(text) is expected


def test_outcome_keywords_meet_the_forms_customers_use() -> None:
    close_days = example_value_case().outcome("close_days")
    assert close_days is not None
    assert outcome_keywords(close_days) == {stem("close"), stem("books")}
    assert stem("closed") == stem("closing") == stem("close")
    assert stem("approvals") == stem("approving") == stem("approval")


def test_a_confirmation_handed_over_only_as_evidence_still_settles_the_ticket() -> None:
    ticket = _example_ticket()
    ticket["status"] = "open"
    sources = _sources_with_ticket(ticket)
    request = request_for("hours_saved", sources)
    del request.sources["ticket:48121#4"]  # the map lacks it, retrieval returned it
    assert any(ev.source_id == "ticket:48121#4" for ev in request.evidence)
    assert negative_signals(request) == []


def test_one_shared_word_does_not_pin_a_complaint_on_an_outcome() -> None:
    # Every outcome of a claims business says "claim"; the complaint is about resubmissions.
    def outcome(oid: str, title: str, metric: str) -> Outcome:
        return Outcome(
            id=oid, title=title, category="cost", unit="USD", formula="x",
            inputs=[OutcomeInput(name="x", metric=metric, aggregation="count")],
        )  # fmt: skip

    note = _note(
        "n.md",
        'Priya said "revenue recovered through denied-claim resubmission is going backwards '
        'and my team is doing the work by hand again".',
    )
    sources = {note.id: note}
    self_service = outcome("self_service", "Share of claims resolved by self-service",
                           "claim.resolved")  # fmt: skip
    revenue = outcome("revenue", "Revenue recovered through denied-claim resubmission",
                      "billing.denied_claim_resubmission")  # fmt: skip
    assert negative_signals(request_for("hours_saved", sources, outcome=self_service)) == []
    assert negative_signals(request_for("hours_saved", sources, outcome=revenue))
