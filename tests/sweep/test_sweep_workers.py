"""A sweep with worker processes stores exactly what a one-process sweep stores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import clerk.sweep.run as sweep_run
from clerk.ingest import run_ingest
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import DigestEntryRow, GapFlagRow, ProofItemRow, SweepStateRow
from clerk.sweep.run import POOL_MIN_ACCOUNTS, run_sweep
from tests.sweep.helpers import AS_OF, many_accounts


def _stored(store: Store) -> dict[str, Any]:
    with store.session() as session:
        return {
            "items": sorted(
                (r.id, r.account_id, r.status, r.payload)
                for r in session.scalars(select(ProofItemRow))
            ),
            "gaps": sorted(
                (r.id, r.account_id, r.status, r.payload)
                for r in session.scalars(select(GapFlagRow))
            ),
            "digest": sorted(
                (r.account_id, r.section, r.ref_id) for r in session.scalars(select(DigestEntryRow))
            ),
            "state": sorted(
                (r.account_id, r.fingerprint) for r in session.scalars(select(SweepStateRow))
            ),
        }


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_worker_processes_store_what_one_process_stores(
    dialect: str,
    example_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    n = POOL_MIN_ACCOUNTS
    data = many_accounts(example_dir, tmp_path, n)
    one = Store(f"sqlite:///{tmp_path / 'one.db'}")
    if dialect == "sqlite":
        two = Store(f"sqlite:///{tmp_path / 'two.db'}")
    else:
        two = Store(request.getfixturevalue("postgres_url"))
    run_ingest(data, one)
    run_ingest(data, two)
    alone = run_sweep(one, as_of=AS_OF, settings=Settings(sweep_workers=1))

    # Which processes prepare the accounts (the workers fork after this patch, so they see it).
    pids = tmp_path / "pids"
    real_prepare = sweep_run.prepare

    def spying(*args: Any, **kwargs: Any) -> Any:
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(sweep_run, "prepare", spying)
    pooled = run_sweep(two, as_of=AS_OF, settings=Settings(sweep_workers=2))

    assert pooled.swept == alone.swept == n and not pooled.failed
    workers = {int(p) for p in pids.read_text().split()}
    assert workers and os.getpid() not in workers  # the accounts were prepared in workers
    assert (pooled.workers, alone.workers) == (2, 0)  # the report says how the sweep ran
    assert (pooled.new_items, pooled.new_gaps) == (alone.new_items, alone.new_gaps)
    assert [c.account_id for c in pooled.changes] == [c.account_id for c in alone.changes]
    assert _stored(two) == _stored(one)
    assert pooled.stage_seconds["drafting"] > 0  # the workers' stage times reach the report
    again = run_sweep(two, as_of=AS_OF, settings=Settings(sweep_workers=2))
    assert again.swept == 0 and again.skipped == n
    one.close()
    two.close()


def test_a_small_sweep_or_one_worker_stays_in_one_process() -> None:
    settings = Settings(sweep_workers=2)
    assert sweep_run._pool_size(settings, None, None, POOL_MIN_ACCOUNTS) == 2
    assert sweep_run._pool_size(settings, None, None, POOL_MIN_ACCOUNTS - 1) == 0
    assert sweep_run._pool_size(Settings(sweep_workers=1), None, None, 100) == 0
    assert sweep_run._pool_size(Settings(sweep_workers=2, llm="openai:m"), None, None, 100) == 0


def test_an_account_that_fails_to_store_fails_alone_and_leaves_nothing_half_written(
    example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pooled sweep commits finished accounts in batches: one account whose storing
    # breaks (after writing its drafts) must not take its batch-mates with it, nor leave
    # its own drafts, digest lines or fingerprint behind.
    n = POOL_MIN_ACCOUNTS
    data = many_accounts(example_dir, tmp_path, n)
    one = Store(f"sqlite:///{tmp_path / 'one.db'}")
    two = Store(f"sqlite:///{tmp_path / 'two.db'}")
    run_ingest(data, one)
    run_ingest(data, two)
    run_sweep(one, as_of=AS_OF, settings=Settings(sweep_workers=1))
    broken = "acct-05"
    real_save = sweep_run.save_drafts

    def failing(session: Any, account_id: str, *args: Any, **kwargs: Any) -> Any:
        stats = real_save(session, account_id, *args, **kwargs)
        if account_id == broken:
            raise RuntimeError("disk full")
        return stats

    monkeypatch.setattr(sweep_run, "save_drafts", failing)
    report = run_sweep(two, as_of=AS_OF, settings=Settings(sweep_workers=2))

    assert report.failed == {broken: "RuntimeError: disk full"}
    assert report.swept == n - 1
    expected = {
        key: [row for row in rows if broken not in row[:2]] for key, rows in _stored(one).items()
    }
    assert _stored(two) == expected  # the others whole, the broken one not at all
    assert all(rows != _stored(one)[key] for key, rows in expected.items())

    monkeypatch.setattr(sweep_run, "save_drafts", real_save)
    again = run_sweep(two, as_of=AS_OF, settings=Settings(sweep_workers=2))
    assert again.swept == 1 and not again.failed  # only the broken account was left to do
    assert _stored(two) == _stored(one)
    one.close()
    two.close()
