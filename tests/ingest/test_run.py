"""The whole folder: the shared example's counts, idempotence, new files, evidence versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from clerk.domain.models import Account
from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.rows import stored_value_case
from clerk.store.tables import (
    AccountRow,
    OutcomeRow,
    SourceRow,
    SubjectRow,
    UsageEventRow,
)
from tests.ingest.helpers import copy_example, write


def _count(store: Store, *where: Any, table: Any = UsageEventRow) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where)) or 0


def test_shared_example_counts_and_second_run(any_store: Store, example_dir: Path) -> None:
    expected = json.loads((example_dir / "expected.json").read_text())["ingest"]
    report = run_ingest(example_dir, any_store)
    events = report.counts["events"]
    assert (events.new, events.duplicates, events.rejected, events.unrouted) == (
        expected["new_events"],
        expected["duplicates"],
        expected["rejected_rows"],
        expected["unrouted_events"],
    )
    assert events.summary() == "10,440 new, 108 duplicates, 0 rejected, 0 unrouted"
    assert report.counts["tickets"].new == 2
    assert report.counts["notes"].new == 2
    assert report.counts["accounts"].new == 1
    assert report.exit_code == 0
    assert _count(any_store) == 10_440
    assert _count(any_store, UsageEventRow.account_id == "northwind") == 10_440
    assert _count(any_store, SourceRow.kind == "ticket_comment", table=SourceRow) == 7

    with any_store.session() as session:
        row = session.get(AccountRow, "northwind")
        assert row is not None and row.evidence_version == 1
        account = Account.model_validate(row.data)
        assert account.customer_domains == ["northwind.example"]
        vc = stored_value_case(session, "northwind")
        approvers = vc.outcome("active_approvers").input("approvers")  # type: ignore[union-attr]
        assert approvers is not None and approvers.field == "approver"
        assert vc.outcome("hours_saved").inputs[0].name == "approvals_automated"  # type: ignore[union-attr]
        outcomes = session.scalars(select(OutcomeRow.id).order_by(OutcomeRow.position)).all()
        assert outcomes == ["hours_saved", "cost_recovered", "close_days", "active_approvers"]
        assert session.scalars(select(SubjectRow.subject)).all() == ["northwind"]

    again = run_ingest(example_dir, any_store)
    for kind in ("events", "tickets", "notes", "accounts"):
        assert again.counts[kind].new == 0, kind
        assert again.counts[kind].updated == 0, kind
    assert _count(any_store) == 10_440
    with any_store.session() as session:
        assert session.get(AccountRow, "northwind").evidence_version == 1  # type: ignore[union-attr]


def test_new_file_adds_only_what_is_new(store: Store, example_dir: Path, tmp_path: Path) -> None:
    data = copy_example(example_dir, tmp_path)
    run_ingest(data, store)
    first = (data / "usage" / "events.jsonl").read_text().splitlines()[0]
    fresh = [
        {
            "specversion": "1.0",
            "id": f"new-{i}",
            "source": "ap-app",
            "type": "approval.completed",
            "subject": "northwind",
            "time": "2026-07-02T10:00:00Z",
            "data": {"mode": "auto"},
        }
        for i in range(3)
    ]
    write(data / "usage" / "july.jsonl", "\n".join([first, *map(json.dumps, fresh)]) + "\n")

    report = run_ingest(data, store)
    events = report.counts["events"]
    assert (events.new, events.duplicates, events.skipped_files) == (3, 1, 1)
    assert ("northwind", "approval.completed", "2026-07") in report.touched
    assert _count(store) == 10_443
    with store.session() as session:
        assert session.get(AccountRow, "northwind").evidence_version == 2  # type: ignore[union-attr]


def test_changed_value_case_replaces_outcomes(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    data = copy_example(example_dir, tmp_path)
    run_ingest(data, store)
    path = data / "accounts" / "northwind" / "value_case.yaml"
    path.write_text(path.read_text().replace("target: 1200", "target: 1500"))

    report = run_ingest(data, store)
    assert report.counts["accounts"].updated == 1
    with store.session() as session:
        outcome = session.get(OutcomeRow, ("northwind", "hours_saved"))
        assert outcome is not None and outcome.data["target"] == 1500
        assert session.get(AccountRow, "northwind").evidence_version == 2  # type: ignore[union-attr]


def test_digests_are_written_for_months_with_new_events(store: Store, example_dir: Path) -> None:
    report = run_ingest(example_dir, store)
    assert ("northwind", "approval.completed", "2026-04") in report.touched
    assert report.digests is not None and report.digests > 0
    digests = _count(store, SourceRow.kind == "usage_digest", table=SourceRow)
    assert digests == report.digests


def test_missing_or_empty_folder_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    from clerk.ingest import IngestError

    for folder, words in ((tmp_path / "nope", "does not exist"), (tmp_path, "none of")):
        try:
            run_ingest(folder, store)
        except IngestError as exc:
            assert words in str(exc)
        else:
            raise AssertionError("expected IngestError")
