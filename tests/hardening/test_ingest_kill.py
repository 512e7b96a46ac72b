"""SIGKILL an ingest at several points, ingest again: the store equals one clean run.

Before issue 13 a kill between committing events and bumping evidence versions left the
account stale forever (the rerun saw 0 new events), lost usage digests and under-reported
unrouted events.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from clerk.ingest import run_ingest
from clerk.settings import get_settings
from clerk.store import Store
from clerk.store.tables import (
    AccountRow,
    IngestedFileRow,
    IngestPendingRow,
    OutcomeRow,
    SourceRow,
    SubjectRow,
    UsageEventRow,
    ValueCaseRow,
)
from tests.ingest.helpers import add_account, copy_example, write

ROOT = Path(__file__).resolve().parents[2]


def _event(i: int, subject: str, month: int) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": f"extra-{subject}-{i}",
            "source": "ap-app",
            "type": "approval.completed",
            "subject": subject,
            "time": f"2026-{month:02d}-{1 + i % 27:02d}T10:00:00Z",
            "data": {"amount": i},
        }
    )


def _first_data(example_dir: Path, tmp_path: Path) -> Path:
    data = copy_example(example_dir, tmp_path)
    events = (data / "usage" / "events.jsonl").read_text().splitlines()
    (data / "usage" / "events.jsonl").unlink()
    half = len(events) // 2
    write(data / "usage" / "a.jsonl", "\n".join(events[:half]) + "\n")
    write(data / "usage" / "b.jsonl", "\n".join(events[half:]) + "\n")
    # Events of a subject no account claims yet: stored unrouted.
    write(data / "usage" / "c.jsonl", "\n".join(_event(i, "acme-sub", 5) for i in range(40)))
    return data


def _second_data(data: Path) -> None:
    """What changes between the two ingests: an account claims the waiting subject, new
    events arrive for both accounts and for a subject nobody claims, a new note."""
    folder = add_account(data, "acme", org=777)
    text = (folder / "account.yaml").read_text() + "usage_subjects: [acme-sub]\n"
    (folder / "account.yaml").write_text(text)
    lines = [_event(i, "northwind", 7 + i % 2) for i in range(1200)]
    lines += [_event(i, "acme-sub", 6) for i in range(300)]
    lines += [_event(i, "nobody", 6) for i in range(25)]
    write(data / "usage" / "d.jsonl", "\n".join(lines) + "\n")
    write(
        data / "accounts" / "northwind" / "notes" / "2026-07-01-check-in.md",
        "---\ndate: 2026-07-01\nkind: meeting\nauthor: dana@vendor.example\n---\n"
        'Priya said "the approvals run themselves now".\n',
    )


def snapshot(store: Store) -> dict[str, Any]:
    """The whole ingested store minus timestamps and per-run counters."""
    with store.session() as session:
        return {
            "accounts": sorted(
                (r.id, r.evidence_version, r.content_hash, r.zendesk_organization_id)
                for r in session.scalars(select(AccountRow))
            ),
            "subjects": sorted(
                (r.subject, r.account_id) for r in session.scalars(select(SubjectRow))
            ),
            "value_cases": sorted(
                (r.account_id, r.content_hash, json.dumps(r.data, sort_keys=True))
                for r in session.scalars(select(ValueCaseRow))
            ),
            "outcomes": sorted(
                (r.account_id, r.id, r.title, json.dumps(r.data, sort_keys=True))
                for r in session.scalars(select(OutcomeRow))
            ),
            "events": sorted(
                (r.source_id, r.account_id, r.subject, r.type, r.time, json.dumps(r.data), r.file)
                for r in session.scalars(select(UsageEventRow))
            ),
            "sources": sorted(
                (r.id, r.account_id, r.kind, r.text, json.dumps(r.meta, sort_keys=True))
                for r in session.scalars(select(SourceRow))
            ),
            "files": sorted(
                (Path(r.path).name, r.sha256, (r.counts or {}).get("unrouted"))
                for r in session.scalars(select(IngestedFileRow))
            ),
            "pending": list(session.scalars(select(IngestPendingRow))),
        }


@pytest.mark.parametrize("point", ["accounts", "events", "tickets", "settle"])
def test_sigkill_mid_ingest_then_rerun_equals_one_clean_run(
    point: str, example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_INGEST_BATCH_SIZE", "400")
    get_settings.cache_clear()
    data = _first_data(example_dir, tmp_path)
    killed = Store(f"sqlite:///{tmp_path / 'killed.db'}")
    clean = Store(f"sqlite:///{tmp_path / 'clean.db'}")
    for store in (killed, clean):
        run_ingest(data, store)
    _second_data(data)

    child = subprocess.run(
        [sys.executable, "-m", "tests.hardening.ingest_child", killed.url, str(data), point],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]

    rerun = run_ingest(data, killed)
    clean_run = run_ingest(data, clean)
    assert rerun.exit_code == clean_run.exit_code
    assert snapshot(killed) == snapshot(clean)
    with killed.session() as session:
        versions = dict(session.execute(select(AccountRow.id, AccountRow.evidence_version)).all())
    assert versions == {"northwind": 2, "acme": 1}  # the rerun did not leave northwind stale
    with killed.session() as session:
        row = session.get(IngestedFileRow, str((data / "usage" / "d.jsonl").resolve()))
    assert row is not None and row.counts["unrouted"] == 25  # not under-reported
    killed.close()
    clean.close()
