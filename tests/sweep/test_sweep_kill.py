"""SIGKILL in the middle of a sweep, then sweep again: the same state as one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from clerk.store import Store
from clerk.store.tables import ProofItemRow, SweepStateRow
from clerk.sweep.run import run_sweep
from tests.sweep.helpers import AS_OF, ingested_twins, many_accounts, snapshot

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 8


def _swept(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(SweepStateRow)) or 0


def test_sigkill_mid_sweep_then_rerun_equals_one_clean_run(
    example_dir: Path, tmp_path: Path
) -> None:
    data = many_accounts(example_dir, tmp_path, ACCOUNTS)
    killed, clean = ingested_twins(data, tmp_path)

    child = subprocess.Popen(
        [sys.executable, "-m", "tests.sweep.sweep_child", killed.url, AS_OF.isoformat()],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _swept(killed) < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    partly = _swept(killed)
    assert 2 <= partly < ACCOUNTS  # killed in the middle, some accounts done

    rerun = run_sweep(killed, as_of=AS_OF)
    assert rerun.skipped == partly and rerun.swept == ACCOUNTS - partly
    run_sweep(clean, as_of=AS_OF)

    assert snapshot(killed) == snapshot(clean)
    with killed.session() as session:
        slots = session.execute(
            select(ProofItemRow.account_id, ProofItemRow.outcome_id, ProofItemRow.kind,
                   func.count())
            .group_by(ProofItemRow.account_id, ProofItemRow.outcome_id, ProofItemRow.kind)
        ).all()  # fmt: skip
    assert slots and all(count == 1 for *_, count in slots)  # no twins
    assert len(slots) == ACCOUNTS * 5
    killed.close()
    clean.close()
