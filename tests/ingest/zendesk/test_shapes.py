"""Zendesk exports as the API and its connectors write them: one data folder per shape.

Every folder in ``data/`` holds the same four tickets and ten comments (fixtures written from
Zendesk's Support API docs, Airbyte's source-zendesk-support schemas and Singer tap-zendesk's),
so each shape must give the same sources: the figures below are counted by hand from them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from clerk.cli import app
from clerk.domain.models import Source
from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import SourceRow
from tests.ingest.helpers import add_account

DATA = Path(__file__).parent / "data"
CFO = "We closed the April books in six days, down from nine.\n\nTom"
# Comments whose author is the customer: requesters (5001, 5101, 5103, 5201) and the CFO, an
# end-user of the organization who is not the requester (5003). Not: agents (5002, 5102, 5202),
# the internal note (5004), a partner's end-user of another organization (5301).
CUSTOMER_COMMENTS = {
    "ticket:48121#5001",
    "ticket:48121#5003",
    "ticket:48377#5101",
    "ticket:48377#5103",
    "ticket:48400#5201",
}
SHAPES = {
    "api-pages": [
        "tickets/ticket-48121-comments.json: Zendesk ticket comments page, 4 comments",
        "tickets/tickets.json: Zendesk tickets page, 4 tickets, 7 users, 2 organizations",
    ],
    "cursor-pages": [
        "tickets/tickets-page-1.json: Zendesk tickets page (cursor pagination), 2 tickets, 5 users",
        "tickets/tickets-page-2.json: Zendesk tickets page (cursor pagination), 2 tickets, 4 users",
    ],
    "incremental": [
        "tickets/incremental-tickets.json: Zendesk incremental ticket export, 4 tickets",
        "tickets/ticket-events.json.gz: Zendesk incremental ticket events, 10 comments",
        "tickets/users.json: Zendesk users page, 7 users",
    ],
    "airbyte": [
        "tickets/zendesk-support.jsonl: Airbyte source-zendesk-support, 4 tickets, 10 comments, "
        "7 users, 2 organizations, left alone: stream ticket_metrics (1)",
    ],
    "airbyte-local": [
        "tickets/_airbyte_raw_ticket_comments.jsonl.gz: Airbyte Local JSON, 10 comments",
        "tickets/_airbyte_raw_tickets.jsonl: Airbyte Local JSON, 4 tickets",
        "tickets/_airbyte_raw_users.jsonl: Airbyte Local JSON, 7 users",
    ],
    "singer": [
        "tickets/tap-zendesk.jsonl: Singer tap-zendesk, 4 tickets, 10 comments, 7 users, "
        "2 organizations",
    ],
}


def folder(tmp_path: Path, *shapes: str) -> Path:
    """A data folder with the northwind account and the ticket files of ``shapes``."""
    data = tmp_path / "data"
    add_account(data, "northwind", org=3612)
    (data / "tickets").mkdir(parents=True, exist_ok=True)
    for shape in shapes:
        for path in (DATA / shape / "tickets").iterdir():
            shutil.copy(path, data / "tickets" / path.name)
    return data


def sources(store: Store) -> dict[str, Source]:
    with store.session() as session:
        return {
            row.id: Source.model_validate(row, from_attributes=True)
            for row in session.scalars(select(SourceRow).where(SourceRow.kind != "usage_digest"))
        }


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_ingests_as_exported(store: Store, tmp_path: Path, shape: str) -> None:
    data = folder(tmp_path, shape)
    report = run_ingest(data, store)
    tickets = report.counts["tickets"]
    assert (tickets.new, tickets.rejected, tickets.unrouted) == (4, 0, 0), report.rejects
    assert report.exit_code == 0
    for line in SHAPES[shape]:
        assert line in report.notes
    found = sources(store)
    assert sorted(s.id for s in found.values() if s.kind == "ticket") == [
        "ticket:48121",
        "ticket:48377",
        "ticket:48400",
        "ticket:48410",
    ]
    comments = {s.id: s for s in found.values() if s.kind == "ticket_comment"}
    assert len(comments) == 10
    assert {i for i, s in comments.items() if s.customer_spans} == CUSTOMER_COMMENTS
    for source_id in CUSTOMER_COMMENTS:
        source = comments[source_id]
        assert [(s.start, s.end) for s in source.customer_spans] == [(0, len(source.text))]
    cfo = comments["ticket:48121#5003"]
    assert cfo.text == CFO and cfo.author == "903" and cfo.account_id == "northwind"
    assert cfo.date.isoformat() == "2026-05-05T16:20:00"
    assert cfo.meta["ticket_status"] == "solved"
    assert comments["ticket:48121#5004"].public is False
    assert comments["ticket:48121#5004"].text == "Ask Tom for a reference call."
    # No organization: routed by the requester's email domain (ap-desk@northwind.example).
    assert found["ticket:48400"].account_id == "northwind"
    assert found["ticket:48121"].meta["status"] == "solved"

    again = run_ingest(data, store)
    assert (again.counts["tickets"].new, again.counts["tickets"].updated) == (0, 0)
    assert again.counts["tickets"].skipped_files == again.counts["tickets"].files


def test_same_tickets_from_two_systems_count_once(any_store: Store, tmp_path: Path) -> None:
    store = any_store
    data = folder(tmp_path, "singer", "airbyte", "api-pages")
    report = run_ingest(data, store)
    tickets = report.counts["tickets"]
    assert (tickets.new, tickets.duplicates, tickets.rejected) == (4, 8, 0)
    found = sources(store)
    assert sum(s.kind == "ticket_comment" for s in found.values()) == 10
    # The comments page's plain_body is preferred to the HTML-only copy in the Singer file.
    assert found["ticket:48121#5003"].text == CFO


def test_clerk_ingest_names_each_ticket_file_shape(store: Store, tmp_path: Path) -> None:
    data = folder(tmp_path, "singer", "incremental")
    result = CliRunner().invoke(app, ["ingest", str(data), "--no-index"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "tickets 4 new, 0 updated, 4 duplicates, 0 rejected, 0 unrouted" in output
    assert (
        "tickets/tap-zendesk.jsonl: Singer tap-zendesk, 4 tickets, 10 comments, 7 users, "
        "2 organizations" in output
    )
    assert "tickets/ticket-events.json.gz: Zendesk incremental ticket events, 10 comments" in output


def test_plain_json_lines_of_tickets_with_nested_comments(store: Store, tmp_path: Path) -> None:
    # One ticket per line with its comments nested (as a full JSON export or a script writes
    # them), plus the users one per line: told apart by their fields.
    pages = DATA / "api-pages" / "tickets"
    page = json.loads((pages / "tickets.json").read_text())
    lines = []
    for ticket in page["tickets"]:
        comments = json.loads((pages / f"ticket-{ticket['id']}-comments.json").read_text())
        lines.append(json.dumps(ticket | {"comments": comments["comments"]}))
    lines += [json.dumps(user) for user in page["users"]]
    data = folder(tmp_path)
    (data / "tickets" / "export.ndjson").write_text("\n".join(lines) + "\n")
    report = run_ingest(data, store)
    assert (report.counts["tickets"].new, report.exit_code) == (4, 0)
    assert "tickets/export.ndjson: Zendesk JSON lines, 4 tickets, 10 comments, 7 users" in (
        report.notes
    )
    found = sources(store)
    comments = {i for i, s in found.items() if s.kind == "ticket_comment" and s.customer_spans}
    assert comments == CUSTOMER_COMMENTS
