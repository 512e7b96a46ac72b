"""Tickets and notes: sources as docs/ARCHITECTURE.md describes, customer spans, updates."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from clerk.domain.models import Source
from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import SourceRow
from tests.ingest.helpers import add_account, copy_example, write


def _sources(store: Store) -> dict[str, Source]:
    with store.session() as session:
        return {
            row.id: Source.model_validate(row, from_attributes=True)
            for row in session.scalars(select(SourceRow).where(SourceRow.kind != "usage_digest"))
        }


def _spans(source: Source) -> list[str]:
    return [source.text[s.start : s.end] for s in source.customer_spans]


def test_ticket_sources_spans_and_internal_notes(store: Store, example_dir: Path) -> None:
    run_ingest(example_dir, store)
    sources = _sources(store)
    ticket = sources["ticket:48121"]
    assert ticket.kind == "ticket" and ticket.account_id == "northwind"
    assert _spans(ticket) == [
        "Auto-approval rule skipped invoices over 5k",
        "Rules with amount thresholds are skipped.",
        "fixed fast",
    ]
    assert ticket.text.endswith("\n\nSatisfaction (good): fixed fast")
    assert ticket.meta["requester_id"] == 901 and ticket.meta["satisfaction_score"] == "good"
    customer = sources["ticket:48121#1"]
    assert customer.kind == "ticket_comment" and _spans(customer) == [customer.text]
    internal = sources["ticket:48121#2"]
    assert internal.public is False and internal.customer_spans == []
    assert internal.meta["ticket_id"] == "48121" and internal.meta["author_id"] == 77
    assert sources["ticket:48121#3"].customer_spans == []  # the agent's public reply
    # Unrated-with-comment tickets have no satisfaction line.
    assert "Satisfaction" not in sources["ticket:48377"].text


def test_updated_and_unroutable_tickets(store: Store, example_dir: Path, tmp_path: Path) -> None:
    data = copy_example(example_dir, tmp_path)
    run_ingest(data, store)
    path = data / "tickets" / "zendesk-export.json"
    export = json.loads(path.read_text())
    export["tickets"][0]["comments"].append(
        {
            "id": 5,
            "author_id": 901,
            "public": True,
            "plain_body": "It broke again.",
            "created_at": "2026-05-01T08:00:00Z",
        }
    )
    export["tickets"].append(
        {
            "id": 5000,
            "subject": "Who?",
            "organization_id": 999,
            "created_at": "2026-05-01T08:00:00Z",
        }
    )
    export["tickets"].append({"id": 5001, "subject": "no date", "organization_id": 3612})
    path.write_text(json.dumps(export, indent=1))

    report = run_ingest(data, store)
    tickets = report.counts["tickets"]
    assert (tickets.new, tickets.updated, tickets.duplicates) == (0, 1, 1)
    assert (tickets.unrouted, tickets.rejected) == (1, 1)
    assert "organization_id 999" in report.unrouted[0].reason
    bad = report.rejects[0]
    assert bad.field == "tickets[3].created_at" and bad.file == "tickets/zendesk-export.json"
    assert bad.line is not None and '"id": 5001' in path.read_text().splitlines()[bad.line]
    assert _sources(store)["ticket:48121#5"].text == "It broke again."


def test_note_quotes_and_customer_emails(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = add_account(data, "acme")
    write(
        folder / "notes" / "call.md",
        "---\ndate: 2026-05-01\nauthor: csm@vendor.example\nkind: call\n"
        'attendees: ["Ann"]\n---\n'
        'Ann said "we save two hours a day" and “the team loves it”. Not quoted.\n',
    )
    write(
        folder / "notes" / "mail.md",
        "---\ndate: 2026-05-02\nauthor: Ann <ann@acme.example>\nkind: email\n---\n"
        "Hi, we cut the close to five days.\n",
    )
    write(
        folder / "notes" / "vendor-mail.md",
        "---\ndate: 2026-05-03\nauthor: csm@vendor.example\nkind: email\n---\nThanks!\n",
    )
    report = run_ingest(data, store)
    assert report.counts["notes"].new == 3
    sources = _sources(store)
    call = sources["note:acme/call.md"]
    assert _spans(call) == ["we save two hours a day", "the team loves it"]
    assert call.text == (folder / "notes" / "call.md").read_text()
    assert call.meta == {
        "kind": "call",
        "attendees": ["Ann"],
        "body_start": call.text.index("Ann said"),
    }
    assert _spans(sources["note:acme/mail.md"]) == ["Hi, we cut the close to five days.\n"]
    assert sources["note:acme/vendor-mail.md"].customer_spans == []
    assert sources["note:acme/mail.md"].date.isoformat() == "2026-05-02T00:00:00"


def test_notes_with_bad_front_matter_are_rejected(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = add_account(data, "acme")
    write(folder / "notes" / "no-front.md", "Just text.\n")
    write(folder / "notes" / "no-kind.md", "---\ndate: 2026-05-01\nauthor: a@b.example\n---\nx\n")
    write(
        folder / "notes" / "bad-date.md",
        "---\ndate: someday\nauthor: a@b.example\nkind: call\n---\nx\n",
    )
    write(
        folder / "notes" / "ok.md", "---\ndate: 2026-05-01\nauthor: a@b.example\nkind: qbr\n---\n"
    )
    report = run_ingest(data, store)
    found = {r.file: (r.line, r.field) for r in report.rejects}
    assert found == {
        "accounts/acme/notes/bad-date.md": (2, "date"),
        "accounts/acme/notes/no-front.md": (1, "front matter"),
        "accounts/acme/notes/no-kind.md": (1, "kind"),
    }
    assert report.counts["notes"].new == 1 and report.exit_code == 1
