"""The sweep on the shared example and on changing evidence: idempotent, incremental, safe."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

import clerk.sweep.run as sweep_run
from clerk.cli import app
from clerk.cli.app import LOG_FILE
from clerk.drafting.extractive import ExtractiveDrafter
from clerk.ingest import run_ingest
from clerk.review.current import account_document
from clerk.store import Store
from clerk.store.tables import GapFlagRow, ProofItemRow, SourceRow, SweepRow, SweepStateRow
from clerk.sweep.account import SEARCH_FAILED_NOTE
from clerk.sweep.run import run_sweep
from tests.sweep.helpers import (
    AS_OF,
    add_approvals,
    copy_example,
    many_accounts,
    set_field,
    set_target,
    snapshot,
)


def _document(store: Store, account: str = "northwind") -> dict[str, Any]:
    with store.session() as session:
        return json.loads(json.dumps(account_document(session, account, AS_OF)))


def _item(doc: dict[str, Any], outcome: str | None, kind: str) -> list[dict[str, Any]]:
    return [i for i in doc["proof_items"] if i["outcome"] == outcome and i["kind"] == kind]


def test_shared_example_gives_expected_json(any_store: Store, example_dir: Path) -> None:
    expected = json.loads((example_dir / "expected.json").read_text())
    run_ingest(example_dir, any_store)
    report = run_sweep(any_store, as_of=AS_OF)
    assert (report.swept, report.failed) == (1, {})

    doc = _document(any_store)
    want = expected["accounts"]["northwind"]
    assert doc["account"] == "northwind" and doc["as_of"] == "2026-07-01"
    assert len(doc["proof_items"]) == len(want["proof_items"])
    for exp in want["proof_items"]:
        (got,) = _item(doc, exp["outcome"], exp["kind"])
        tolerance = 0.01 if exp["kind"] == "payback" else 0.005
        assert got["delivered"] == pytest.approx(exp["delivered"], rel=tolerance)
        if "target" in exp:
            assert got["target"] == exp["target"]
        assert got["evidence_category"] == exp.get("evidence_category", got["evidence_category"])
        assert got["status"] == "pending", got.get("verification_errors")
        for source in exp.get("sources", []):
            assert source in {c["source"] for c in got["citations"]}
    assert [(g["outcome"], g["kind"]) for g in doc["gap_flags"]] == [
        ("active_approvers", "under_delivery")
    ]
    assert doc["gap_flags"][0]["owner"] == "dana@vendor.example"

    hours = _item(doc, "hours_saved", "calculation")[0]
    assert hours["claim"].startswith("1,320 hours saved on invoice approvals in Q2 2026")
    assert hours["period"] == {"start": "2026-04-01", "end": "2026-07-01"}
    assert hours["attainment"] == pytest.approx(1.1)
    assert hours["calculation"]["inputs"][0] == {
        "name": "approvals_automated", "value": 4800, "unit": "count", "cited_as": None,
        "source": "metric:approval.completed?mode=auto@2026-04-01..2026-07-01",
    }  # fmt: skip
    assert (
        hours["calculation"]["inputs"][1]["cited_as"] == "Time study with the AP team, 2025-12-02"
    )
    assert _item(doc, "active_approvers", "calculation")[0]["evidence_category"] == "usage_proxy"
    payback = _item(doc, None, "payback")[0]
    assert payback["forecast"] == 6 and "4.85 months" in payback["claim"]
    statement = _item(doc, "close_days", "customer_statement")[0]
    assert statement["evidence_category"] == "customer_confirmed"
    with any_store.session() as session:
        for citation in statement["citations"]:
            text = session.get(SourceRow, citation["source"]).text  # type: ignore[union-attr]
            assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert "we closed the June books in six days" in statement["citations"][0]["quote"]


def test_second_sweep_adds_nothing_and_ids_are_stable(store: Store, example_dir: Path) -> None:
    run_ingest(example_dir, store)
    first = run_sweep(store, as_of=AS_OF)
    before = snapshot(store)
    second = run_sweep(store, as_of=AS_OF)
    assert (second.swept, second.skipped, second.new_items, second.new_gaps) == (0, 1, 0, 0)
    assert snapshot(store) == before
    # Forget the fingerprint: the account is redrafted, yet lands on the very same ids.
    with store.session() as session:
        session.execute(delete(SweepStateRow))
    third = run_sweep(store, as_of=AS_OF)
    assert (third.swept, third.new_items, third.new_gaps, third.superseded) == (1, 0, 0, 0)
    assert snapshot(store) == before
    assert first.new_items == 5 and first.new_gaps == 1
    with store.session() as session:
        sweeps = session.scalars(select(SweepRow).order_by(SweepRow.id)).all()
    assert [s.status for s in sweeps] == ["done", "done", "done"]
    assert sweeps[0].stats["new_items"] == 5 and sweeps[1].stats["skipped"] == 1


def _set_status(store: Store, outcome: str | None, kind: str, status: str) -> str:
    with store.session() as session:
        row = session.scalars(
            select(ProofItemRow).where(ProofItemRow.outcome_id.is_(None) if outcome is None
                                       else ProofItemRow.outcome_id == outcome,
                                       ProofItemRow.kind == kind)
        ).one()  # fmt: skip
        row.status = status
        return row.id


def test_new_evidence_supersedes_only_pending_drafts(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    data = copy_example(example_dir, tmp_path)
    run_ingest(data, store)
    run_sweep(store, as_of=AS_OF)
    approved = _set_status(store, "hours_saved", "calculation", "approved")
    rejected = _set_status(store, None, "payback", "rejected")
    old = snapshot(store)["items"]
    old_cost = next(i for i, v in old.items() if v[1] == "cost_recovered")

    add_approvals(data, "late", ["u-01"] * 60)  # 60 more automated approvals by a known approver
    run_ingest(data, store)
    report = run_sweep(store, as_of=AS_OF)
    assert (report.new_items, report.superseded) == (3, 1)

    items = snapshot(store)["items"]
    assert items[approved] == old[approved]  # untouched, still approved
    assert items[rejected] == old[rejected]
    assert items[old_cost][3] == "superseded"
    doc = _document(store)
    hours = _item(doc, "hours_saved", "calculation")
    assert [h["status"] for h in hours] == ["approved", "pending"]
    assert hours[1]["delivered"] == pytest.approx(4860 * 16.5 / 60)
    (cost,) = _item(doc, "cost_recovered", "calculation")
    assert items[old_cost][4] == cost["id"]  # superseded_by the new draft
    # Evidence the approvers count did not change: same draft, same id, still pending.
    approvers = [i for i, v in items.items() if v[1] == "active_approvers"]
    assert len(approvers) == 1 and items[approvers[0]] == old[approvers[0]]


def _flag(store: Store) -> GapFlagRow:
    with store.session() as session:
        return session.scalars(select(GapFlagRow)).one()


def test_gaps_resolve_reopen_and_respect_dismissal(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    data = copy_example(example_dir, tmp_path)
    run_ingest(data, store)
    run_sweep(store, as_of=AS_OF)
    flag = _flag(store)
    assert (flag.kind, flag.status) == ("under_delivery", "open")

    add_approvals(data, "two-more", ["u-90", "u-91"])  # 40 approvers: on target
    run_ingest(data, store)
    report = run_sweep(store, as_of=AS_OF)
    assert (report.resolved_gaps, report.new_gaps) == (1, 0)
    resolved = _flag(store)
    assert (resolved.id, resolved.status) == (flag.id, "resolved")
    assert resolved.resolved_at is not None
    assert _document(store)["gap_flags"] == []

    set_target(data, "active_approvers", 45)
    run_ingest(data, store)
    report = run_sweep(store, as_of=AS_OF)
    reopened = _flag(store)
    assert (reopened.id, reopened.status, reopened.resolved_at) == (flag.id, "open", None)
    assert report.new_gaps == 1
    assert "40 people" in reopened.payload["message"] and "45" in reopened.payload["message"]

    with store.session() as session:
        session.get(GapFlagRow, flag.id).status = "dismissed"  # type: ignore[union-attr]
    set_target(data, "active_approvers", 50)
    run_ingest(data, store)
    report = run_sweep(store, as_of=AS_OF)
    assert _flag(store).status == "dismissed"
    assert (report.new_gaps, report.resolved_gaps) == (0, 0)


def test_a_failing_drafter_still_yields_template_claims(store: Store, example_dir: Path) -> None:
    class Broken(ExtractiveDrafter):
        async def draft(self, request: Any) -> Any:
            raise RuntimeError("model down")

    run_ingest(example_dir, store)
    report = run_sweep(store, as_of=AS_OF, drafter=Broken())
    assert report.failed == {}
    # Why the drafter gave nothing is kept where a person can read it.
    assert "model down" in report.drafter_notes["northwind/close_days"][0]
    with store.session() as session:
        stats = session.scalars(select(SweepRow)).one().stats
    assert stats["drafter_notes"] == 4
    assert "model down" in stats["notes"]["northwind/hours_saved"][0]
    doc = _document(store)
    kinds = sorted((i["outcome"] or "", i["kind"]) for i in doc["proof_items"])
    # Numbers never depend on the drafter; the customer statement does.
    assert kinds == [("", "payback"), ("active_approvers", "calculation"),
                     ("cost_recovered", "calculation"), ("hours_saved", "calculation")]  # fmt: skip
    assert all(i["status"] == "pending" for i in doc["proof_items"])
    assert ("close_days", "no_evidence") in {(g["outcome"], g["kind"]) for g in doc["gap_flags"]}


def test_unverifiable_drafter_claim_falls_back_to_the_template(
    store: Store, example_dir: Path
) -> None:
    class Inventive(ExtractiveDrafter):
        async def draft(self, request: Any) -> Any:
            result = await super().draft(request)
            if result.claim:
                result.claim = "An amazing 9,999 hours saved."
            return result

    run_ingest(example_dir, store)
    run_sweep(store, as_of=AS_OF, drafter=Inventive())
    hours = _item(_document(store), "hours_saved", "calculation")[0]
    assert "9,999" not in hours["claim"] and "1,320" in hours["claim"]
    assert hours["status"] == "pending"


def test_a_statement_drafted_twice_is_stored_once(store: Store, example_dir: Path) -> None:
    class Repeating(ExtractiveDrafter):
        async def draft(self, request: Any) -> Any:
            result = await super().draft(request)
            result.statements = result.statements + result.statements
            return result

    run_ingest(example_dir, store)
    report = run_sweep(store, as_of=AS_OF, drafter=Repeating())
    assert report.failed == {}
    statements = _item(_document(store), "close_days", "customer_statement")
    assert len(statements) == 1
    assert statements[0]["delivered"] == 6


def test_unknown_account_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="nobody"):
        run_sweep(store, as_of=AS_OF, account="nobody")


def test_contract_to_date_drafts_replace_last_weeks(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    data = copy_example(example_dir, tmp_path)
    set_field(data, "active_approvers", "period", "contract")
    run_ingest(data, store)
    weeks = [AS_OF, AS_OF + dt.timedelta(days=7)]
    for day in weeks:
        run_sweep(store, as_of=day)
    with store.session() as session:
        rows = session.scalars(
            select(ProofItemRow).where(ProofItemRow.outcome_id == "active_approvers")
            .order_by(ProofItemRow.created_at)
        ).all()  # fmt: skip
        assert [(r.period_end, r.status) for r in rows] == [
            (weeks[0], "superseded"), (weeks[1], "pending")
        ]  # fmt: skip
        assert rows[0].superseded_by == rows[1].id
        # Q2 outcomes keep their one draft: a week later is still Q2's report.
        hours = session.scalars(
            select(ProofItemRow).where(ProofItemRow.outcome_id == "hours_saved")
        ).all()
        assert [r.status for r in hours] == ["pending"]


def test_a_new_quarter_leaves_old_flags_with_their_period_and_keeps_old_items(
    store: Store, example_dir: Path
) -> None:
    run_ingest(example_dir, store)
    run_sweep(store, as_of=AS_OF)
    q2_flag = _flag(store)
    report = run_sweep(store, as_of=dt.date(2026, 10, 1))  # Q3: no usage after June
    assert report.resolved_gaps == 0  # nothing was fixed
    with store.session() as session:
        old = session.get(GapFlagRow, q2_flag.id)
        assert old is not None and old.status == "open"  # still true of Q2 ...
        q3_doc = account_document(session, "northwind", dt.date(2026, 10, 1))
        assert q2_flag.id not in {g["id"] for g in q3_doc["gap_flags"]}  # ... not of Q3
        q2_items = session.scalars(
            select(ProofItemRow).where(ProofItemRow.period_end == AS_OF)
        ).all()
        assert len(q2_items) == 5 and {r.status for r in q2_items} == {"pending"}
    assert ("hours_saved", "no_evidence") in {
        (g["outcome"], g["kind"]) for g in q3_doc["gap_flags"]
    }
    # The Q2 document is still there to review, with its flags.
    q2_doc = _document(store)
    assert len(q2_doc["proof_items"]) == 5
    assert q2_flag.id in {g["id"] for g in q2_doc["gap_flags"]}


def test_drafter_calls_run_concurrently_within_the_limit(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    import asyncio

    from clerk.settings import Settings

    class Counting(ExtractiveDrafter):
        in_flight = 0
        peak = 0

        async def draft(self, request: Any) -> Any:
            Counting.in_flight += 1
            Counting.peak = max(Counting.peak, Counting.in_flight)
            await asyncio.sleep(0.02)
            Counting.in_flight -= 1
            return await super().draft(request)

    run_ingest(many_accounts(example_dir, tmp_path, 4), store)
    settings = Settings(llm_max_concurrency=3)
    report = run_sweep(store, as_of=AS_OF, drafter=Counting(), settings=settings)
    assert report.swept == 4
    assert Counting.peak == 3


def test_items_show_reviewed_drafts_with_status_and_the_csm_edit(
    store: Store, example_dir: Path
) -> None:
    run_ingest(example_dir, store)
    run_sweep(store, as_of=AS_OF)
    edited = _set_status(store, "hours_saved", "calculation", "edited")
    rejected = _set_status(store, "cost_recovered", "calculation", "rejected")
    with store.session() as session:
        row = session.get(ProofItemRow, edited)
        assert row is not None
        row.edited = {"claim": "About 1,320 hours saved in Q2 2026."}
        session.get(ProofItemRow, rejected).reject_reason = "Rate not agreed"  # type: ignore[union-attr]
    doc = _document(store)
    hours = _item(doc, "hours_saved", "calculation")[0]
    assert hours["status"] == "edited"
    assert hours["claim"].startswith("1,320 hours saved")  # the draft as the clerk wrote it
    assert hours["edited"] == {"claim": "About 1,320 hours saved in Q2 2026."}
    cost = _item(doc, "cost_recovered", "calculation")[0]
    assert (cost["status"], cost["reject_reason"]) == ("rejected", "Rate not agreed")


def test_items_show_the_reviewers_owner_and_next_action_on_gaps(
    store: Store, example_dir: Path
) -> None:
    run_ingest(example_dir, store)
    run_sweep(store, as_of=AS_OF)
    with store.session() as session:
        flag = session.scalars(select(GapFlagRow)).one()
        flag.owner = "lee@vendor.example"
        flag.next_action = "Walk Priya through the approver list on Friday."
    [gap] = _document(store)["gap_flags"]
    # What a manager set in the review UI is what `clerk items` and `clerk gaps` show.
    assert gap["owner"] == "lee@vendor.example"
    assert gap["next_action"] == "Walk Priya through the approver list on Friday."


def test_a_failing_search_is_a_note_and_a_logged_traceback(
    store: Store, example_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Ranked(ExtractiveDrafter):
        ranked_evidence = True  # asks for search-ranked evidence, as the LLM drafter does

    class BrokenIndex:
        def corpus(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("chroma server refused the connection")

        search = corpus

    run_ingest(example_dir, store)
    with caplog.at_level("WARNING", logger="clerk"):
        report = run_sweep(store, as_of=AS_OF, drafter=Ranked(), index=BrokenIndex())
    assert report.failed == {}
    note = report.drafter_notes["northwind/close_days"][0]
    assert note.startswith(SEARCH_FAILED_NOTE) and "chroma server refused" in note
    # The drafter still got every customer passage: the statement is found unranked.
    assert _item(_document(store), "close_days", "customer_statement")[0]["delivered"] == 6
    logged = [r for r in caplog.records if SEARCH_FAILED_NOTE in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_a_failing_drafter_is_logged_with_its_traceback(
    store: Store, example_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(ExtractiveDrafter):
        async def draft(self, request: Any) -> Any:
            raise RuntimeError("model down")

    run_ingest(example_dir, store)
    with caplog.at_level("WARNING", logger="clerk"):
        run_sweep(store, as_of=AS_OF, drafter=Broken())
    failed = [r for r in caplog.records if "drafter extractive failed" in r.getMessage()]
    assert failed and failed[0].exc_info is not None
    assert "model down" in str(failed[0].exc_info[1])


def test_a_failed_account_is_in_the_summary_and_its_traceback_in_the_log(
    store: Store, example_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken_prepare(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("value case unreadable")

    run_ingest(example_dir, store)
    monkeypatch.setattr(sweep_run, "prepare", broken_prepare)
    result = CliRunner().invoke(app, ["sweep", "--as-of", AS_OF.isoformat()])
    assert "northwind" in result.output and "ValueError: value case unreadable" in result.output
    assert "Traceback (most recent call last)" not in result.output
    assert LOG_FILE in " ".join(result.output.split())
    home = Path(os.environ["CLERK_HOME"])
    log_text = (home / LOG_FILE).read_text(encoding="utf-8")
    assert "sweep of northwind failed" in log_text
    assert "Traceback (most recent call last)" in log_text and "broken_prepare" in log_text
