"""Concurrent sweeps wait for each other; a killed sweep's row is marked interrupted."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from clerk.cli import app
from clerk.ingest import run_ingest
from clerk.settings import Settings, get_settings
from clerk.store import Store
from clerk.store.tables import SweepRow
from clerk.sweep.lock import SweepBusy, sweep_lock
from clerk.sweep.run import run_sweep
from tests.sweep.helpers import many_accounts, snapshot

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2026, 7, 1)


def test_three_concurrent_sweeps_all_succeed_and_agree(example_dir: Path, tmp_path: Path) -> None:
    data = many_accounts(example_dir, tmp_path, 4)
    shared = Store(f"sqlite:///{tmp_path / 'shared.db'}")
    clean = Store(f"sqlite:///{tmp_path / 'clean.db'}")
    for store in (shared, clean):
        run_ingest(data, store)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CLERK_DATABASE_URL": shared.url,
        "CLERK_HOME": str(tmp_path / "home"),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "clerk.cli", "sweep", "--as-of", AS_OF.isoformat()],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [c.communicate(timeout=600)[0].decode() for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], outputs
    assert not any("IntegrityError" in out for out in outputs)
    run_sweep(clean, as_of=AS_OF)
    assert snapshot(shared) == snapshot(clean)
    with shared.session() as session:
        statuses = session.scalars(select(SweepRow.status)).all()
    assert sorted(statuses) == ["done", "done", "done"]
    shared.close()
    clean.close()


def test_a_second_sweep_stops_with_a_clear_message(
    any_store: Store, example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingest(example_dir, any_store)
    with sweep_lock(any_store, wait=0):
        with pytest.raises(SweepBusy, match="another sweep of this store is running"):
            run_sweep(any_store, as_of=AS_OF, settings=Settings(sweep_lock_wait=0.3))
        monkeypatch.setenv("CLERK_SWEEP_LOCK_WAIT", "0")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["sweep", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3
    assert "Not swept" in result.output and "Traceback" not in result.output
    with any_store.session() as session:
        assert session.scalars(select(SweepRow)).all() == []  # it changed nothing
    # Once the first is done, the next sweep runs.
    assert run_sweep(any_store, as_of=AS_OF).swept == 1


def test_a_killed_sweeps_row_is_marked_interrupted(example_dir: Path, tmp_path: Path) -> None:
    data = many_accounts(example_dir, tmp_path, 4)
    store = Store(f"sqlite:///{tmp_path / 'killed.db'}")
    run_ingest(data, store)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.sweep.sweep_child", store.url, AS_OF.isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        with store.session() as session:
            if session.scalars(select(SweepRow)).first() is not None:
                break
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with store.session() as session:
        assert session.scalars(select(SweepRow.status)).all() == ["running"]
    run_sweep(store, as_of=AS_OF)
    with store.session() as session:
        rows = session.scalars(select(SweepRow).order_by(SweepRow.id)).all()
        assert [r.status for r in rows] == ["interrupted", "done"]
        assert rows[0].finished_at is not None
    store.close()
