"""Usage events: every shape, bad lines reported with file and line, routing, duplicates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import UsageEventRow
from tests.ingest.helpers import add_account, write


def _ce(ident: str, subject: str = "acme", **extra: object) -> str:
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": ident,
        "source": "app",
        "type": "login",
        "subject": subject,
        "time": "2026-03-01T12:00:00Z",
        "data": {"n": 1},
    }
    event.update(extra)
    return json.dumps(event)


def _events(store: Store) -> dict[str, UsageEventRow]:
    with store.session() as session:
        return {row.source_id: row for row in session.scalars(select(UsageEventRow))}


def test_malformed_lines_are_reported_and_the_rest_kept(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    lines = [
        _ce("ok-1").encode(),
        b'{"specversion": "1.0", "id": "broken"',
        json.dumps(
            {
                "specversion": "1.0",
                "id": "x",
                "source": "app",
                "type": "login",
                "time": "2026-03-01T12:00:00Z",
            }
        ).encode(),
        _ce("bad-time", time="yesterday").encode(),
        b'{"hello": "world"}',
        b"",
        '{"specversion": "1.0", "id": "caf\xe9"}'.encode("latin-1"),
        _ce("ok-2").encode(),
    ]
    write(data / "usage" / "mixed.jsonl", b"\n".join(lines) + b"\n")

    report = run_ingest(data, store)
    events = report.counts["events"]
    assert (events.new, events.rejected) == (2, 5)
    assert report.exit_code == 1
    where = {(r.file, r.line): r.reason for r in report.rejects}
    assert "malformed JSON" in where[("usage/mixed.jsonl", 2)]
    assert "'subject'" in where[("usage/mixed.jsonl", 3)]
    assert (
        "time" in where[("usage/mixed.jsonl", 4)] and "yesterday" in where[("usage/mixed.jsonl", 4)]
    )
    assert "unknown event shape" in where[("usage/mixed.jsonl", 5)]
    assert "UTF-8" in where[("usage/mixed.jsonl", 7)]
    assert set(_events(store)) == {"event:app/ok-1", "event:app/ok-2"}

    assert report.reject_report is not None and report.reject_report.is_file()
    assert report.reject_report.parent.name == "rejects"
    logged = [json.loads(line) for line in report.reject_report.read_text().splitlines()]
    assert [r["line"] for r in logged] == [2, 3, 4, 5, 7]
    assert logged[1]["field"] == "subject"


def test_every_reject_goes_to_the_report_file(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "junk.jsonl", "\n".join(["not json"] * 25 + [_ce("fine")]) + "\n")
    report = run_ingest(data, store)
    assert report.rejected_total == 25
    assert len(report.rejects) == 10  # the screen shows the first ones
    assert report.reject_report is not None
    assert len(report.reject_report.read_text().splitlines()) == 25
    assert report.counts["events"].new == 1


def test_csv_parses_numbers_and_booleans(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(
        data / "usage" / "export.csv",
        "id,subject,type,time,amount,seats,auto,zip,note\n"
        "c1,acme,invoice.paid,2026-03-01T10:00:00+02:00,12.5,3,true,02134,hello\n"
        "c2,acme,invoice.paid,2026-03-02 09:00:00,-4,0,FALSE,,\n"
        "c3,acme,invoice.paid,2026-03-03T09:00:00Z,1e3\n"
        "c4,acme,invoice.paid,soon,1,1,true,1,x\n",
    )
    report = run_ingest(data, store)
    rows = _events(store)
    first = rows["event:csv/c1"]
    assert first.data == {"amount": 12.5, "seats": 3, "auto": True, "zip": "02134", "note": "hello"}
    assert first.time == dt.datetime(2026, 3, 1, 8, 0)  # +02:00 turned into UTC
    assert rows["event:csv/c2"].data == {"amount": -4, "seats": 0, "auto": False}
    assert rows["event:csv/c2"].account_id == "acme"
    reasons = {r.line: r.reason for r in report.rejects}
    assert "fields" in reasons[4]  # c3: too few columns
    assert "time" in reasons[5]
    assert report.counts["events"].new == 2


def test_csv_without_the_required_header_is_rejected(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "bad.csv", "id,who,type,time\n1,acme,login,2026-01-01T00:00:00Z\n")
    report = run_ingest(data, store)
    assert report.rejects[0].line == 1
    assert "subject" in report.rejects[0].reason
    assert report.counts["events"].new == 0


def test_lago_timestamps_in_every_shape(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    shapes = {
        "t1": 1775121300,
        "t2": 1775121300.5,
        "t3": "1775121300",
        "t4": "2026-04-02T11:15:00+02:00",
        "t5": "2026-04-02T09:15:00Z",
    }
    lines = [
        json.dumps(
            {
                "transaction_id": tx,
                "external_customer_id": "acme",
                "code": "approval",
                "timestamp": stamp,
                "properties": {"mode": "auto"},
            }
        )
        for tx, stamp in shapes.items()
    ]
    lines.append(
        json.dumps({"transaction_id": "t6", "external_customer_id": "acme", "code": "approval"})
    )
    write(data / "usage" / "lago.jsonl", "\n".join(lines))
    report = run_ingest(data, store)
    rows = _events(store)
    expected = dt.datetime(2026, 4, 2, 9, 15)
    for tx in ("t1", "t3", "t4", "t5"):
        assert rows[f"event:lago/{tx}"].time == expected, tx
    assert rows["event:lago/t2"].time == expected + dt.timedelta(milliseconds=500)
    assert rows["event:lago/t1"].type == "approval"
    assert rows["event:lago/t1"].data == {"mode": "auto"}
    assert [(r.line, r.field) for r in report.rejects] == [(6, "timestamp")]


def test_repeated_identity_counts_once(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "a.jsonl", "\n".join([_ce("e1"), _ce("e1"), _ce("e2")]))
    write(data / "usage" / "b.jsonl", "\n".join([_ce("e2"), _ce("e3")]))
    report = run_ingest(data, store)
    assert (report.counts["events"].new, report.counts["events"].duplicates) == (3, 2)


def test_unrouted_events_are_reported_then_routed(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(
        data / "usage" / "a.jsonl", "\n".join([_ce("e1"), _ce("g1", "globex"), _ce("g2", "globex")])
    )
    report = run_ingest(data, store)
    assert report.counts["events"].unrouted == 2
    assert report.exit_code == 0  # unrouted is reported, not rejected
    assert {(r.line, r.status) for r in report.unrouted} == {(2, "unrouted"), (3, "unrouted")}
    assert "globex" in report.unrouted[0].reason
    assert report.reject_report is not None
    assert _events(store)["event:app/g1"].account_id is None

    add_account(data, "globex", org=2)
    again = run_ingest(data, store)
    assert again.late_routed == 2
    assert ("globex", "login", "2026-03") in again.touched
    assert again.counts["events"].unrouted == 0
    assert _events(store)["event:app/g2"].account_id == "globex"
