"""The sweep benchmark's prepared store: made once, reused, never swept in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clerk.settings import get_settings
from evals import bench_sweep


@pytest.fixture(autouse=True)
def _own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bench points CLERK_HOME at its copies; give the environment back afterwards."""
    monkeypatch.setenv("CLERK_HOME", str(tmp_path / "home-before"))
    monkeypatch.delenv("CLERK_DATABASE_URL", raising=False)
    yield
    get_settings.cache_clear()


def test_a_prepared_store_is_reused_and_each_run_sweeps_a_copy(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    first = bench_sweep.run(3, workdir=tmp_path / "a", generator="simple", prepared=prepared)
    store_bytes = (prepared / "home" / "clerk.db").read_bytes()
    second = bench_sweep.run(3, workdir=tmp_path / "b", generator="simple", prepared=prepared)

    assert first.failed == second.failed == 0
    assert first.accounts == second.accounts == 3
    assert first.items == second.items > 0  # the second run swept a fresh copy, not a swept store
    assert (
        first.events
        == second.events
        == json.loads((prepared / bench_sweep.PREPARED_MARK).read_text())["events"]
    )
    assert (prepared / "home" / "clerk.db").read_bytes() == store_bytes


def test_a_folder_prepared_for_other_arguments_is_refused(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    bench_sweep.prepare(prepared, 2, generator="simple")
    with pytest.raises(SystemExit, match="holds another preparation"):
        bench_sweep.prepare(prepared, 3, generator="simple")
