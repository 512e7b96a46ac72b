"""Across files and runs: newest copy wins, comments join by ticket, what cannot join is said."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from clerk.ingest import run_ingest
from clerk.store import Store
from tests.ingest.helpers import write
from tests.ingest.zendesk.test_shapes import DATA, folder, sources

PAGE = DATA / "api-pages" / "tickets"


def _ticket(**changes: Any) -> dict[str, Any]:
    ticket = json.loads((PAGE / "tickets.json").read_text())["tickets"][0]  # 48121
    return ticket | changes


def _page(*tickets: dict[str, Any]) -> str:
    return json.dumps({"tickets": list(tickets), "next_page": None, "count": len(tickets)})


NEWER = _ticket(status="solved", updated_at="2026-05-06T10:00:00Z")
OLDER = _ticket(status="open", updated_at="2026-04-29T09:00:00Z")


@pytest.mark.parametrize("names", [("a.json", "b.json"), ("b.json", "a.json")])
def test_older_page_in_the_same_run_never_wins(
    store: Store, tmp_path: Path, names: tuple[str, str]
) -> None:
    data = folder(tmp_path)
    newer, older = names
    write(data / "tickets" / newer, _page(NEWER))
    write(data / "tickets" / older, _page(OLDER))
    report = run_ingest(data, store)
    assert (report.counts["tickets"].new, report.counts["tickets"].duplicates) == (1, 1)
    assert sources(store)["ticket:48121"].meta["status"] == "solved"


def test_older_page_in_a_later_run_keeps_the_newer_status(any_store: Store, tmp_path: Path) -> None:
    store = any_store
    data = folder(tmp_path)
    write(data / "tickets" / "2026-05-07.json", _page(NEWER))
    run_ingest(data, store)
    # The newer file is gone (rotated away); an older page arrives afterwards.
    (data / "tickets" / "2026-05-07.json").unlink()
    write(data / "tickets" / "2026-04-30.json", _page(OLDER))
    report = run_ingest(data, store)
    assert report.counts["tickets"].new == 0 and report.counts["tickets"].updated == 0
    assert sources(store)["ticket:48121"].meta["status"] == "solved"
    assert any("already stored in a newer version" in note for note in report.notes)

    # A newer page still updates it.
    write(data / "tickets" / "2026-06-01.json", _page(_ticket(status="closed",
          updated_at="2026-06-01T00:00:00Z")))  # fmt: skip
    assert run_ingest(data, store).counts["tickets"].updated == 1
    assert sources(store)["ticket:48121"].meta["status"] == "closed"


def test_comments_page_joins_a_ticket_stored_earlier(store: Store, tmp_path: Path) -> None:
    data = folder(tmp_path)
    write(data / "tickets" / "tickets.json", (PAGE / "tickets.json").read_text())
    run_ingest(data, store)
    assert "ticket:48121#5003" not in sources(store)
    (data / "tickets" / "tickets.json").unlink()
    write(
        data / "tickets" / "ticket-48121-comments.json",
        (PAGE / "ticket-48121-comments.json").read_text(),
    )
    write(data / "tickets" / "users.json", (DATA / "incremental/tickets/users.json").read_text())
    report = run_ingest(data, store)
    assert (report.counts["tickets"].updated, report.counts["tickets"].unrouted) == (1, 0)
    cfo = sources(store)["ticket:48121#5003"]
    assert [(s.start, s.end) for s in cfo.customer_spans] == [(0, len(cfo.text))]
    assert cfo.meta["ticket_subject"] == "Month-end close with auto-approvals"
    assert sources(store)["ticket:48121#5002"].customer_spans == []  # the agent


def test_comments_that_cannot_join_are_reported(store: Store, tmp_path: Path) -> None:
    data = folder(tmp_path, "api-pages")
    comments = (PAGE / "ticket-48377-comments.json").read_text()
    write(data / "tickets" / "comments-export.json", comments)  # no ticket id anywhere
    write(data / "tickets" / "ticket-99999-comments.json", comments)  # a ticket never seen
    report = run_ingest(data, store)
    assert report.counts["tickets"].new == 4 and report.exit_code == 1
    bad = [r for r in report.rejects if r.file == "tickets/comments-export.json"]
    assert [r.field for r in bad] == [f"comments[{i}].ticket_id" for i in range(3)]
    assert "save it as ticket-<id>-comments.json" in bad[0].reason
    assert bad[0].line is not None and '"id": 5101' in comments.splitlines()[bad[0].line]
    assert report.counts["tickets"].rejected == 3
    assert (
        "tickets/comments-export.json: Zendesk ticket comments page, "
        "3 comment(s) without ticket_id" in report.notes
    )
    orphans = [r for r in report.unrouted if r.file == "tickets/ticket-99999-comments.json"]
    assert len(orphans) == 3
    assert "ticket 99999 is in no ticket file" in orphans[0].reason
    assert orphans[0].line is not None and orphans[0].line > 1
    assert not any(s.startswith("ticket:99999") for s in sources(store))


def test_unroutable_ticket_without_organization_names_the_reason(
    store: Store, tmp_path: Path
) -> None:
    data = folder(tmp_path)
    lone = _ticket(id=50001, organization_id=None, requester_id=4242)
    stranger = _ticket(id=50002, organization_id=None, requester_id=4343)
    page = json.loads(_page(lone, stranger))
    page["users"] = [{"id": 4343, "email": "someone@elsewhere.example", "role": "end-user",
                      "organization_id": None}]  # fmt: skip
    write(data / "tickets" / "tickets.json", json.dumps(page, indent=1))
    report = run_ingest(data, store)
    assert report.counts["tickets"].unrouted == 2
    reasons = sorted(r.reason for r in report.unrouted)
    assert "requester 4242 is in no users file" in reasons[0]
    assert "email domain elsewhere.example is in no account's customer_domains" in reasons[1]
    assert {r.field for r in report.unrouted} == {"requester_id"}


def test_byte_order_marks_and_gzip(store: Store, tmp_path: Path) -> None:
    data = folder(tmp_path)
    bom = codecs.BOM_UTF8
    write(data / "tickets" / "tickets.json", bom + (PAGE / "tickets.json").read_bytes())
    note = '---\ndate: 2026-05-01\nauthor: csm@vendor.example\nkind: call\n---\nTom said "fine".\n'
    write(data / "accounts" / "northwind" / "notes" / "call.md", bom + note.encode())
    write(data / "tickets" / "broken.json.gz", b"\x1f\x8b\x08\x00 not really gzip")
    report = run_ingest(data, store)
    assert report.counts["tickets"].new == 4 and report.counts["notes"].new == 1
    (bad,) = report.rejects
    assert bad.file == "tickets/broken.json.gz" and "not a readable gzip file" in bad.reason
    call = sources(store)["note:northwind/call.md"]
    assert call.text == note
    assert [call.text[s.start : s.end] for s in call.customer_spans] == ["fine"]


def test_not_a_zendesk_file_is_named(store: Store, tmp_path: Path) -> None:
    data = folder(tmp_path)
    write(data / "tickets" / "export.json", json.dumps({"data": [], "has_more": False}))
    write(data / "tickets" / "lines.jsonl", '{"type":"RECORD","stream":"tickets","record":{}}\n{')
    report = run_ingest(data, store)
    found = {(r.file, r.line): r for r in report.rejects}
    assert set(found) == {("tickets/export.json", None), ("tickets/lines.jsonl", 1),
                          ("tickets/lines.jsonl", 2)}  # fmt: skip
    assert "not a Zendesk export" in found["tickets/export.json", None].reason
    assert "'data', 'has_more'" in found["tickets/export.json", None].reason
    assert found["tickets/lines.jsonl", 1].reason == "record.id: missing field 'id'"
    assert "malformed JSON" in found["tickets/lines.jsonl", 2].reason


def test_changed_customer_domains_reread_unchanged_ticket_files(
    store: Store, tmp_path: Path
) -> None:
    data = folder(tmp_path, "singer")
    run_ingest(data, store)
    assert sources(store)["ticket:48410#5301"].customer_spans == []  # kim@partner.example
    account = data / "accounts" / "northwind" / "account.yaml"
    text = account.read_text().replace(
        "customer_domains: [northwind.example]",
        "customer_domains: [northwind.example, partner.example]",
    )
    account.write_text(text)
    report = run_ingest(data, store)
    assert report.counts["tickets"].skipped_files == 0 and report.counts["tickets"].updated == 1
    assert sources(store)["ticket:48410#5301"].customer_spans != []
