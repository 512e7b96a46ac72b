"""The rules every usage reader shares: numbers in text, times, ingest truth, mapping file."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from clerk.cli import app
from clerk.domain.numeric import number_from_text
from clerk.drafting.extractive import ExtractiveDrafter
from clerk.ingest import run_ingest
from clerk.ingest.events import EventError, TimeWindow, csv_value
from clerk.review.current import account_document
from clerk.settings import get_settings
from clerk.store import Store
from clerk.store.tables import UsageEventRow
from clerk.sweep.run import run_sweep
from tests.ingest.helpers import add_account, write

runner = CliRunner()
NOW = dt.datetime(2026, 7, 1, 12, 0)


def _events(store: Store) -> dict[str, UsageEventRow]:
    with store.session() as session:
        return {row.source_id: row for row in session.scalars(select(UsageEventRow))}


def _ce(ident: str, time: Any = "2026-05-01T12:00:00Z", **data: Any) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": ident,
            "source": "app",
            "type": "approval.completed",
            "subject": "acme",
            "time": time,
            "data": data,
        }
    )


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("1250.00", 1250.0), ("-3", -3), ("1e3", 1000.0), ("0", 0), ("0.5", 0.5)],
)
def test_numeric_strings_are_numbers(text: str, number: float) -> None:
    value = number_from_text(text)
    assert value == number and type(value) is type(number)


@pytest.mark.parametrize(
    "text",
    ["02134", "+5", " 12", "12 ", "1,250.00", "1.250,00", "NaN", "Infinity", "1e999", ".5",
     "12345678901234567890", "0x1A", "", "12abc"],
)  # fmt: skip
def test_codes_and_other_text_stay_text(text: str) -> None:
    assert number_from_text(text) is None


def test_string_numbers_in_event_data_are_stored_as_numbers(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(
        data / "usage" / "openmeter.jsonl",
        _ce("1", amount="1250.00", seats="12", delta="-3", big="1e3", zip="02134", who="u-1")
        + "\n",
    )
    run_ingest(data, store)
    stored = _events(store)["event:app/1"].data
    assert stored == {
        "amount": 1250.0, "seats": 12, "delta": -3, "big": 1000.0, "zip": "02134", "who": "u-1"
    }  # fmt: skip


def test_csv_decimal_comma_only_in_semicolon_files() -> None:
    assert csv_value("1250,50", decimal_comma=True) == 1250.5
    assert csv_value("1250,50") == "1250,50"
    assert csv_value("1.250,50", decimal_comma=True) == "1.250,50"  # never guess thousands


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [1775121300, "1775121300", 1775121300000, "1775121300000", 1775121300000.0,
     "2026-04-02T09:15:00Z", "2026-04-02T11:15:00+02:00", "2026-04-02 09:15:00.000000"],
)  # fmt: skip
def test_epoch_seconds_and_milliseconds_by_magnitude(value: Any) -> None:
    assert TimeWindow(NOW).event_time(value, "time") == dt.datetime(2026, 4, 2, 9, 15)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1775-12-13T00:00:00Z", "before 2000"),
        (946684799, "before 2000"),
        ("20260402", "before 2000"),  # digits are epoch seconds, never a compact date
        ("2026-07-03T12:00:01Z", "more than a day in the future"),
        (1893456000000, "more than a day in the future"),
        ("0001-01-01T00:30:00+02:00", "out of range"),
        ("9999-12-31T23:30:00-02:00", "out of range"),
        ("2026-04-02T09:15:00+02:00Z", "both an offset and Z"),
        ("2026-13-02T09:15:00Z", "not an ISO 8601 time"),
        (10**30, "out of range"),
        (True, "not a time"),
    ],
)
def test_implausible_times_are_refused_with_the_reason(value: Any, words: str) -> None:
    with pytest.raises(EventError, match=words) as caught:
        TimeWindow(NOW).event_time(value, "timestamp")
    assert caught.value.field == "timestamp"


def test_bad_times_are_rejected_naming_file_line_and_field(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(
        data / "usage" / "events.csv",
        "id,subject,type,time,amount\n"
        "c1,acme,approval.completed,1775121300000,5\n"
        "c2,acme,approval.completed,0001-01-01T00:30:00+02:00,5\n"
        "c3,acme,approval.completed,2026-04-02T09:15:00+02:00Z,5\n"
        "c4,acme,approval.completed,1999-12-31T23:59:59Z,5\n",
    )
    report = run_ingest(data, store)
    assert set(_events(store)) == {"event:csv/c1"}
    assert _events(store)["event:csv/c1"].time == dt.datetime(2026, 4, 2, 9, 15)
    assert [(r.file, r.line, r.field) for r in report.rejects] == [
        ("usage/events.csv", n, "time") for n in (3, 4, 5)
    ]
    assert report.exit_code == 1


# --- non-numeric values in an aggregation ----------------------------------------------------

VALUE_CASE = """outcomes:
  - id: amount
    title: Invoice amount approved
    category: revenue
    unit: USD
    period: quarter
    target: 100
    formula: total
    inputs:
      total: {metric: approval.completed, aggregation: sum, field: amount}
"""


def _sweep(store: Store, data: Path) -> dict[str, Any]:
    run_ingest(data, store)
    run_sweep(store, as_of=dt.date(2026, 7, 1), drafter=ExtractiveDrafter())
    with store.session() as session:
        return json.loads(json.dumps(account_document(session, "acme", dt.date(2026, 7, 1))))


def test_mixed_numbers_and_text_are_not_drafted_high(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme", value_case=VALUE_CASE)
    lines = [_ce(f"n{i}", amount="1000.00") for i in range(12)]
    lines += [_ce("t1", amount="n/a"), _ce("t2", amount="1.250,00")]
    write(data / "usage" / "events.jsonl", "\n".join(lines) + "\n")
    doc = _sweep(store, data)

    (item,) = [i for i in doc["proof_items"] if i["kind"] == "calculation"]
    assert item["delivered"] == 12000
    assert item["confidence"] != "high"
    assert any("in 2 of 14 events amount is not a number" in r
               for r in item["confidence_reasons"])  # fmt: skip
    (gap,) = [g for g in doc["gap_flags"] if g["kind"] == "no_evidence"]
    assert "amount" in gap["message"] and "2 of 14" in gap["message"]
    assert "'1.250,00'" in gap["message"] or "'n/a'" in gap["message"]


def test_events_without_a_number_never_read_as_no_events(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme", value_case=VALUE_CASE)
    write(
        data / "usage" / "events.jsonl",
        "\n".join(_ce(f"t{i}", amount="n/a") for i in range(3)) + "\n",
    )
    doc = _sweep(store, data)
    (gap,) = [g for g in doc["gap_flags"] if g["kind"] == "no_evidence"]
    assert "no approval.completed events" not in gap["message"]
    assert "3 approval.completed events" in gap["message"]
    assert "none with a number in amount" in gap["message"]
    assert "in 3 of 3 events amount is not a number (e.g. 'n/a')" in gap["message"]


# --- ingest truth ----------------------------------------------------------------------------


def test_unknown_file_is_a_warning_beside_good_data(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "events.jsonl", _ce("1") + "\n")
    write(data / "usage" / "heap.jsonl", json.dumps({"event_id": 1, "when": "x"}) + "\n")
    write(data / "usage" / "export.parquet", b"PAR1\x00\x15\x04\x00binary")
    report = run_ingest(data, store)
    assert report.exit_code == 0
    assert report.counts["events"].new == 1
    assert report.rejected_total == 0
    assert [w.split(":")[0] for w in report.not_understood] == [
        "usage/export.parquet",
        "usage/heap.jsonl",
    ]
    assert "keys event_id, when" in report.not_understood[1]


def test_folder_with_nothing_ingestible_exits_1_naming_the_files(
    tmp_path: Path, clerk_home: Path
) -> None:
    data = tmp_path / "data"
    write(data / "usage" / "heap.jsonl", json.dumps({"event_id": 1}) + "\n")
    write(data / "usage" / "notes.txt", "nothing to see here\n")
    result = runner.invoke(app, ["ingest", str(data), "--no-index"])
    assert result.exit_code == 1, result.output
    assert "Nothing ingestible" in result.output
    assert "usage/heap.jsonl" in result.output and "usage/notes.txt" in result.output


def test_summary_names_each_file_shape(tmp_path: Path, clerk_home: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    track = {
        "type": "track", "messageId": "m1", "event": "report.exported",
        "timestamp": "2026-05-01T10:00:00.000Z", "context": {"groupId": "acme"},
        "properties": {"pages": "12"},
    }  # fmt: skip
    write(data / "usage" / "segment.jsonl.gz", gzip.compress((json.dumps(track) + "\n").encode()))
    result = runner.invoke(app, ["ingest", str(data), "--no-index"])
    assert result.exit_code == 0, result.output
    assert "usage/segment.jsonl.gz: Segment track calls, 1 event" in result.output


# --- routing and the mapping file ------------------------------------------------------------


def test_candidates_route_by_the_first_an_account_claims(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")  # claims "acme" only
    amp = {
        "$insert_id": "a1", "uuid": "u1", "event_type": "login", "user_id": "acme",
        "event_time": "2026-05-01 10:00:00.000000", "groups": {"company": ["unknown-co"]},
    }  # fmt: skip
    write(data / "usage" / "amp.jsonl", json.dumps(amp) + "\n")
    run_ingest(data, store)
    row = _events(store)["event:amplitude/a1"]
    assert (row.account_id, row.subject) == ("acme", "acme")


def test_mixpanel_group_keys_come_from_settings(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_MIXPANEL_GROUP_KEYS", '["workspace"]')
    get_settings.cache_clear()
    data = tmp_path / "data"
    add_account(data, "acme")
    event = {
        "event": "login",
        "properties": {"time": 1777636800, "$insert_id": "i1", "distinct_id": "someone",
                       "company_id": "other", "workspace": "acme"},
    }  # fmt: skip
    write(data / "usage" / "mp.jsonl", json.dumps(event) + "\n")
    try:
        run_ingest(data, store)
    finally:
        get_settings.cache_clear()
    row = _events(store)["event:mixpanel/i1"]
    assert (row.account_id, row.subject) == ("acme", "acme")


def test_mapping_file_reads_a_system_without_a_reader(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(
        data / "usage" / "mapping.yaml",
        "files:\n"
        "  - pattern: 'heap-*'\n"
        "    system: heap\n"
        "    id: event_id\n"
        "    subject: [account.id, user_id]\n"
        "    type: event_name\n"
        "    time: occurred_at\n"
        "    data: properties\n"
        "  - pattern: 'billing-*.csv'\n"
        "    system: billing\n"
        "    id: Invoice\n"
        "    subject: Customer\n"
        "    type: Kind\n"
        "    time: Date\n",
    )
    heap = {
        "event_id": 77, "account": {"id": "acme"}, "user_id": "u9", "event_name": "export",
        "occurred_at": 1777636800000, "properties": {"rows": "120"},
    }  # fmt: skip
    write(data / "usage" / "heap-2026-05.jsonl", json.dumps(heap) + "\n")
    write(
        data / "usage" / "billing-may.csv",
        "\ufeffInvoice;Customer;Kind;Date;Total\n00042;acme;invoice.paid;2026-05-02;1250,50\n",
    )
    report = run_ingest(data, store)
    assert report.rejected_total == 0, report.rejects
    rows = _events(store)
    assert rows["event:heap/77"].account_id == "acme"
    assert rows["event:heap/77"].data == {"rows": 120}
    assert rows["event:billing/00042"].data == {"Total": 1250.5}
    assert "mapped by usage/mapping.yaml (heap-*)" in report.file_shapes["usage/heap-2026-05.jsonl"]


def test_a_broken_mapping_file_is_rejected_by_name(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "mapping.yaml", "files:\n  - pattern: 'x*'\n    system: x\n")
    write(data / "usage" / "events.jsonl", _ce("1") + "\n")
    report = run_ingest(data, store)
    assert report.counts["events"].new == 1
    (reject,) = report.rejects
    assert reject.file == "usage/mapping.yaml" and "files[0].id: required" in reject.reason


def test_large_csv_with_a_progress_bar_reads_to_the_end(store: Store, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    data = tmp_path / "data"
    add_account(data, "acme")
    rows = [f"c{i},acme,approval.completed,2026-05-01T10:00:00Z,{i}.50" for i in range(30000)]
    write(data / "usage" / "big.csv", "id,subject,type,time,amount\n" + "\n".join(rows) + "\n")
    assert (data / "usage" / "big.csv").stat().st_size > 1 << 20
    console = Console(file=io.StringIO(), force_terminal=True)
    report = run_ingest(data, store, console=console)
    assert report.counts["events"].new == 30000
    assert report.file_shapes == {"usage/big.csv": "CSV, 30,000 events"}


def test_zip_members_are_read_and_a_stray_member_is_named(store: Store, tmp_path: Path) -> None:
    import io
    import zipfile

    data = tmp_path / "data"
    add_account(data, "acme")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/a.json.gz", gzip.compress((_ce("1") + "\n").encode()))
        archive.writestr("export/README", "Exported by hand\n")
        archive.writestr("export/b.jsonl", _ce("2") + "\n")
    write(data / "usage" / "export.zip", buffer.getvalue())
    report = run_ingest(data, store)
    assert report.counts["events"].new == 2
    assert report.file_shapes == {"usage/export.zip": "CloudEvents, 2 events"}
    assert any(
        n.startswith("usage/export.zip/export/README: neither JSON nor CSV") for n in report.notes
    )


def test_a_truncated_gzip_keeps_what_came_before_and_says_so(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    packed = gzip.compress("\n".join(_ce(f"e{i}") for i in range(2000)).encode())
    write(data / "usage" / "events.jsonl.gz", packed[: len(packed) // 2])
    report = run_ingest(data, store)
    assert 0 < report.counts["events"].new < 2000
    (reject,) = report.rejects
    assert reject.file == "usage/events.jsonl.gz"
    assert "cannot read the file to its end" in reject.reason
    assert report.exit_code == 1
