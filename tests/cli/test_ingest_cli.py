"""`clerk ingest`, `clerk accounts` and `clerk demo` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clerk.cli import app
from clerk.store import Store
from tests.ingest.helpers import add_account, write

runner = CliRunner()


def test_ingest_prints_counts_then_nothing_new(any_store: Store, example_dir: Path) -> None:
    result = runner.invoke(app, ["ingest", str(example_dir), "--no-index"])
    assert result.exit_code == 0, result.output
    # the stage progress (live on a terminal; its final state otherwise)
    assert "✓ reading accounts, usage, tickets and notes" in result.output
    assert "10,440 new, 108 duplicates, 0 rejected, 0 unrouted" in result.output
    assert "Reject report" not in result.output

    again = runner.invoke(app, ["ingest", str(example_dir), "--no-index"])
    assert again.exit_code == 0
    events = next(line for line in again.output.splitlines() if line.startswith("events"))
    assert "0 new" in events
    for kind in ("tickets", "notes", "accounts"):
        line = next(line for line in again.output.splitlines() if line.startswith(kind))
        assert line.split()[1:3] == ["0", "new,"], line


def test_bad_line_exit_status_and_reject_report(
    store: Store, tmp_path: Path, clerk_home: Path
) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    good = {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "t",
        "subject": "acme",
        "time": "2026-01-01T00:00:00Z",
    }
    write(data / "usage" / "e.jsonl", json.dumps(good) + "\n{oops\n")
    result = runner.invoke(app, ["ingest", str(data), "--no-index"])
    assert result.exit_code == 1
    assert "1 new, 0 duplicates, 1 rejected, 0 unrouted" in result.output
    assert "usage/e.jsonl:2: malformed JSON" in result.output
    report = next((clerk_home / "rejects").glob("*.jsonl"))
    assert f"Reject report: {report}" in result.output.replace("\n", "")
    assert json.loads(report.read_text())["line"] == 2


def test_missing_folder_is_a_message_not_a_traceback(store: Store, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "absent")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_accounts_table_sorted_by_renewal(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "later", org=1, renewal="2028-01-01")
    add_account(data, "sooner", org=2, renewal="2026-09-01")
    write(
        data / "usage" / "e.csv",
        "id,subject,type,time\n1,sooner,login,2026-01-01T00:00:00Z\n"
        "2,sooner,login,2026-01-02T00:00:00Z\n",
    )
    assert runner.invoke(app, ["ingest", str(data), "--no-index"]).exit_code == 0
    result = runner.invoke(app, ["accounts"])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "sooner" in line or "later" in line]
    assert "sooner" in lines[0] and "2026-09-01" in lines[0] and " 2 " in lines[0]
    assert "later" in lines[1] and "2028-01-01" in lines[1]
    for header in ("account", "CSM", "renewal", "events", "tickets", "notes"):
        assert header in result.output


def test_accounts_when_empty(store: Store) -> None:
    result = runner.invoke(app, ["accounts"])
    assert result.exit_code == 0 and "No accounts yet" in result.output


def test_demo_ingests_the_packaged_example(store: Store) -> None:
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "10,440 new" in result.output
    row = next(line for line in result.output.splitlines() if "northwind" in line)
    assert "2027-01-01" in row and "10,440" in row
