"""SIGKILL ``clerk sweep`` at several points, sweep again: every digest line exactly once.

Before issue 13 the CSM digest was written from the report of the run in memory: a sweep
killed after storing some accounts' drafts left their new items in no digest at all (the
next sweep skips those accounts, their fingerprint being unchanged).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import DigestEntryRow, SweepRow
from clerk.sweep import csm_digests
from clerk.sweep.csm_digests import UNASSIGNED, write_digests
from clerk.sweep.run import run_sweep
from clerk.sweep.schedule import sweep_and_digest
from tests.sweep.helpers import AS_OF, ingested_twins, many_accounts

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 4
POINTS = ["account", "finish", "claim", "files", "append"]


def _data(example_dir: Path, tmp_path: Path) -> Path:
    """Four accounts: two of dana's, one of sam's, one without a CSM."""
    data = many_accounts(example_dir, tmp_path, ACCOUNTS)
    for k, csm in ((1, "csm: sam@vendor.example"), (3, "")):
        path = data / "accounts" / f"acct-{k:02d}" / "account.yaml"
        path.write_text(path.read_text().replace("csm: dana@vendor.example", csm))
    return data


def digest_lines(home: Path) -> Counter[tuple[str, str]]:
    """Every reported line of every digest file, with the CSM folder it went to."""
    lines: Counter[tuple[str, str]] = Counter()
    for path in sorted((home / "digests").glob("*/*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("- **"):
                lines[(path.parent.name, line)] += 1
    return lines


def _kill_then_rerun(url: str, home: Path, point: str) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "tests.hardening.sweep_child", url, AS_OF.isoformat(),
         str(ACCOUNTS), point],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CLERK_HOME": str(home)},
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]


def _check(killed: Store, clean: Store, clerk_home: Path, tmp_path: Path, point: str) -> None:
    _kill_then_rerun(killed.url, clerk_home, point)
    with killed.session() as session:
        owed = session.scalars(select(DigestEntryRow)).all()
    assert owed  # the killed sweep stored drafts whose lines are owed

    sweep_and_digest(killed, as_of=AS_OF)  # the next `clerk sweep` (CLERK_HOME = clerk_home)
    run_sweep(clean, as_of=AS_OF)
    write_digests(clean, tmp_path / "clean-home")

    reported = digest_lines(clerk_home)
    expected = digest_lines(tmp_path / "clean-home")
    assert expected and {folder for folder, _ in expected} == {
        "dana@vendor.example", "sam@vendor.example", UNASSIGNED
    }  # fmt: skip
    assert sum(1 for _, line in expected if "· calculation ·" in line) >= ACCOUNTS
    assert reported == expected  # nothing lost, nothing twice
    with killed.session() as session:
        assert session.scalars(select(SweepRow.status).order_by(SweepRow.id)).all()[-1] == "done"
        unreported = session.scalars(
            select(DigestEntryRow).where(DigestEntryRow.digest_id.is_(None))
        ).all()
    assert unreported == []
    # A third run owes nothing and writes nothing.
    before = {p: p.read_text() for p in (clerk_home / "digests").glob("*/*.md")}
    assert sweep_and_digest(killed, as_of=AS_OF)[1] == []
    assert {p: p.read_text() for p in (clerk_home / "digests").glob("*/*.md")} == before


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_mid_sweep_then_sweep_again_reports_each_item_once(
    point: str, example_dir: Path, tmp_path: Path, clerk_home: Path
) -> None:
    data = _data(example_dir, tmp_path)
    killed, clean = ingested_twins(data, tmp_path)
    _check(killed, clean, clerk_home, tmp_path, point)
    killed.close()
    clean.close()


@pytest.mark.parametrize("point", ["account", "claim", "append"])
def test_sigkill_mid_sweep_on_postgresql_reports_each_item_once(
    point: str, example_dir: Path, tmp_path: Path, clerk_home: Path, postgres_url: str
) -> None:
    data = _data(example_dir, tmp_path)
    killed, clean = ingested_twins(data, tmp_path, postgres_url)
    _check(killed, clean, clerk_home, tmp_path, point)
    killed.close()
    clean.close()


def test_a_digest_run_racing_another_reports_each_line_once(
    any_store: Store, example_dir: Path, tmp_path: Path, clerk_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Lines are claimed in SQL: a second digest run that claims them while the first is
    between reading and claiming wins, the first reports nothing twice."""
    data = _data(example_dir, tmp_path)
    run_ingest(data, any_store)
    run_sweep(any_store, as_of=AS_OF)
    now = dt.datetime(2026, 7, 6, 6, 0)
    real = csm_digests._section
    raced: list[list[Path]] = []
    racing = [False]

    def section_while_another_claims(entries: Any, when: dt.datetime) -> str:
        if not racing[0]:
            racing[0] = True  # the other run's own sections go straight through
            other = Store(any_store.url)
            raced.append(write_digests(other, clerk_home, now=now))
            other.close()
        return real(entries, when)

    monkeypatch.setattr(csm_digests, "_section", section_while_another_claims)
    assert write_digests(any_store, clerk_home, now=now) == []
    assert len(raced[0]) == 3  # the other run reported all three CSMs' lines
    lines = digest_lines(clerk_home)
    assert lines and all(n == 1 for n in lines.values())
