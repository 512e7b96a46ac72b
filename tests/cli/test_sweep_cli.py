"""`clerk sweep`, `clerk items`, `clerk gaps` and `clerk schedule` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clerk.cli import app
from clerk.settings import Settings
from clerk.store import Store
from clerk.sweep.schedule import build_scheduler, next_run

runner = CliRunner()
ITEM_KEYS = {"id", "outcome", "kind", "claim", "period", "delivered", "target", "unit",
             "attainment", "calculation", "citations", "evidence_category", "confidence",
             "status", "drafted_by"}  # fmt: skip
GAP_KEYS = {"id", "outcome", "kind", "severity", "message", "next_action", "risk", "owner",
            "status"}  # fmt: skip


def _ingest(example_dir: Path) -> None:
    result = runner.invoke(app, ["ingest", str(example_dir), "--no-index"])
    assert result.exit_code == 0, result.output


def test_sweep_then_items_json_is_the_expected_document(
    any_store: Store, example_dir: Path
) -> None:
    _ingest(example_dir)
    swept = runner.invoke(app, ["sweep", "--as-of", "2026-07-01"])
    assert swept.exit_code == 0, swept.output
    lines = {" ".join(line.strip("│ ").split()) for line in swept.output.splitlines()}
    assert {"swept │ 1", "new items │ 5", "new gaps │ 1"} <= lines, swept.output

    shown = runner.invoke(app, ["items", "northwind", "--as-of", "2026-07-01", "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert set(doc) == {"account", "as_of", "proof_items", "gap_flags"}
    expected = json.loads((example_dir / "expected.json").read_text())["accounts"]["northwind"]
    got = {(i["outcome"], i["kind"]): i for i in doc["proof_items"]}
    assert set(got) == {(i["outcome"], i["kind"]) for i in expected["proof_items"]}
    for want in expected["proof_items"]:
        item = got[(want["outcome"], want["kind"])]
        assert set(item) >= ITEM_KEYS
        assert item["delivered"] == pytest.approx(want["delivered"], rel=0.01)
    assert [(g["outcome"], g["kind"]) for g in doc["gap_flags"]] == [
        ("active_approvers", "under_delivery")
    ]
    assert set(doc["gap_flags"][0]) >= GAP_KEYS

    # Without --as-of, items shows the account's latest sweep.
    table = runner.invoke(app, ["items", "northwind"], terminal_width=200)
    assert table.exit_code == 0
    assert "1,320 hours saved on invoice approvals" in table.output
    assert "under_delivery" in table.output


def test_items_right_after_ingest_drafts_that_date_first(store: Store, example_dir: Path) -> None:
    _ingest(example_dir)
    shown = runner.invoke(app, ["items", "northwind", "--as-of", "2026-07-01", "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    delivered = {(i["outcome"], i["kind"]): i["delivered"] for i in doc["proof_items"]}
    assert delivered[("hours_saved", "calculation")] == pytest.approx(1320)
    assert delivered[("close_days", "customer_statement")] == 6
    assert [(g["outcome"], g["kind"]) for g in doc["gap_flags"]] == [
        ("active_approvers", "under_delivery")
    ]
    # Reading again redrafts nothing: the sweep behind it is incremental.
    again = runner.invoke(app, ["items", "northwind", "--as-of", "2026-07-01", "--json"])
    assert json.loads(again.stdout) == doc
    # --no-sweep only reads: another date has nothing drafted yet.
    other = runner.invoke(
        app, ["items", "northwind", "--as-of", "2026-10-01", "--no-sweep", "--json"]
    )
    assert json.loads(other.stdout)["proof_items"] == []


def test_second_cli_sweep_reports_nothing_new(store: Store, example_dir: Path) -> None:
    _ingest(example_dir)
    runner.invoke(app, ["sweep", "--as-of", "2026-07-01"])
    again = runner.invoke(app, ["sweep", "--as-of", "2026-07-01"])
    assert again.exit_code == 0
    lines = {" ".join(line.strip("│ ").split()) for line in again.output.splitlines()}
    assert {"swept │ 0", "unchanged, skipped │ 1", "new items │ 0"} <= lines, again.output
    forced = runner.invoke(app, ["sweep", "--as-of", "2026-07-01", "--force"])
    lines = {" ".join(line.strip("│ ").split()) for line in forced.output.splitlines()}
    assert {"swept │ 1", "new items │ 0", "new gaps │ 0"} <= lines, forced.output


def test_gaps_lists_and_filters(store: Store, example_dir: Path) -> None:
    _ingest(example_dir)
    runner.invoke(app, ["sweep", "--as-of", "2026-07-01"])
    listed = runner.invoke(app, ["gaps", "--kind", "under_delivery", "--json"])
    assert listed.exit_code == 0, listed.output
    (gap,) = json.loads(listed.stdout)
    assert (gap["account"], gap["outcome"], gap["status"]) == (
        "northwind", "active_approvers", "open"
    )  # fmt: skip
    none = runner.invoke(app, ["gaps", "--kind", "no_owner", "--json"])
    assert json.loads(none.stdout) == []
    bad = runner.invoke(app, ["gaps", "--kind", "bogus"])
    assert bad.exit_code == 2 and "no_owner" in bad.output


def test_unknown_account_and_bad_date_are_errors(store: Store) -> None:
    missing = runner.invoke(app, ["items", "nobody", "--as-of", "2026-07-01"])
    assert missing.exit_code == 2 and "no account 'nobody'" in missing.output
    bad = runner.invoke(app, ["sweep", "--as-of", "July"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_schedule_once_sweeps_and_writes_a_digest_per_csm(
    store: Store, example_dir: Path, clerk_home: Path
) -> None:
    _ingest(example_dir)
    ran = runner.invoke(
        app, ["schedule", "--cron", "0 6 * * MON", "--once", "--as-of", "2026-07-01"]
    )
    assert ran.exit_code == 0, ran.output
    today = dt.datetime.now(dt.UTC).date().isoformat()
    digest = clerk_home / "digests" / "dana@vendor.example" / f"{today}.md"
    text = digest.read_text()
    assert "New items to review (5)" in text
    assert "New gaps (1)" in text and "under_delivery" in text
    assert "1,320 hours saved" in text
    # Nothing changed since: the next sweep leaves the digest as it was.
    runner.invoke(app, ["schedule", "--once", "--as-of", "2026-07-01"])
    assert digest.read_text() == text


def test_schedule_refuses_a_bad_crontab(store: Store) -> None:
    result = runner.invoke(app, ["schedule", "--cron", "every monday"])
    assert result.exit_code == 2 and "crontab" in result.output


@pytest.mark.parametrize(
    ("cron", "now", "fires"),
    [
        ("0 6 * * MON", dt.datetime(2026, 6, 28, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 29, 6)),
        ("0 6 * * MON", dt.datetime(2026, 6, 29, 6, 0, 1, tzinfo=dt.UTC),
         dt.datetime(2026, 7, 6, 6)),
        ("30 2 1 * *", dt.datetime(2026, 6, 15, tzinfo=dt.UTC), dt.datetime(2026, 7, 1, 2, 30)),
    ],
)  # fmt: skip
def test_next_run_is_utc(cron: str, now: dt.datetime, fires: dt.datetime) -> None:
    got = next_run(cron, now)
    assert got is not None and got.replace(tzinfo=None) == fires


def test_build_scheduler_registers_one_coalescing_sweep_job() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    calls: list[int] = []
    scheduler = build_scheduler(
        "0 6 * * MON", lambda: calls.append(1), scheduler=BackgroundScheduler(timezone="UTC")
    )
    (job,) = scheduler.get_jobs()
    assert (job.id, job.coalesce, job.max_instances) == ("sweep", True, 1)
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='mon', hour='6', minute='0']"
    with pytest.raises(ValueError, match="crontab"):
        build_scheduler("61 * * * *", lambda: None)


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--as-of", "2026-13-01"],
        ["items", "northwind", "--as-of", "July"],
        ["schedule", "--as-of", "1 July"],
        ["packet", "northwind", "--as-of", "07/01/2026"],
        ["search", "northwind", "x", "--until", "soon"],
    ],
)
def test_every_date_option_says_the_same_thing(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Error: {args[-2]} {args[-1]} is not a YYYY-MM-DD date" in result.output
    assert "Traceback" not in result.output


def test_config_prints_every_tunable_with_its_description(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_FEW_EVENTS", "25")
    shown = runner.invoke(app, ["config", "--json"])
    assert shown.exit_code == 0, shown.output
    values = json.loads(shown.output)
    assert values["few_events"] == 25
    assert values["severe_attainment"] == 0.8 and values["gap_due_days_high"] == 7
    # None: sized to the server (24,000 characters remote, 5,000 local; docs/llm.md)
    assert values["llm_max_evidence_chars"] is None and values["stale_pending_days"] == 7
    assert values["session_max_age"] == 12 * 3600
    table = runner.invoke(app, ["config"]).output
    assert "CLERK_FEW_EVENTS" in table and "CLERK_SESSION_MAX_AGE" in table
    assert all(f.description for f in Settings.model_fields.values())
