"""evals.load: a benchmark claims its goals only when the machine was quiet at its start."""

from __future__ import annotations

import pytest

from evals import load


@pytest.mark.parametrize(
    ("goals_met", "load_1min", "expected"),
    [
        (True, 0.3, "goals met"),
        (False, 0.3, "goals NOT met"),
        (True, 1.5, "goals met"),  # the limit itself is still quiet
        (True, 1.51, "goals NOT CLAIMED: noisy run, load average 1.51 at start > 1.5"),
        (False, 7.0, "goals NOT CLAIMED: noisy run, load average 7.00 at start > 1.5"),
    ],
)
def test_verdict_claims_only_on_a_quiet_machine(
    goals_met: bool, load_1min: float, expected: str
) -> None:
    assert load.verdict(goals_met, load_1min).startswith(expected)


def test_a_noisy_run_prints_both_loads_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads = iter([(3.2, 2.0, 1.0), (4.1, 2.5, 1.2)])
    monkeypatch.setattr(load, "load_average", lambda: next(loads))
    watch = load.start("ui")
    status = load.finish(watch, goals_met=True)
    out = capsys.readouterr().out
    assert status == 2
    assert "[ui] load average at start  3.20, 2.00, 1.00" in out
    assert "[ui] load average at end    4.10, 2.50, 1.20" in out
    assert "will not claim its goals" in out
    assert "goals NOT CLAIMED: noisy run" in out and "goals met" not in out


@pytest.mark.parametrize(
    ("goals_met", "status", "line"), [(True, 0, "goals met"), (False, 1, "goals NOT met")]
)
def test_a_quiet_run_claims_its_verdict(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    goals_met: bool,
    status: int,
    line: str,
) -> None:
    monkeypatch.setattr(load, "load_average", lambda: (0.4, 0.5, 0.6))
    watch = load.start("sweep")
    assert load.finish(watch, goals_met) == status
    assert capsys.readouterr().out.splitlines()[-1] == f"[sweep] {line}"


def test_every_benchmark_uses_the_load_helper() -> None:
    from pathlib import Path

    benches = sorted(Path(load.__file__).parent.glob("bench_*.py"))
    assert benches
    for path in benches:
        source = path.read_text()
        assert "load.start(" in source and "load.finish(" in source, path.name
