"""The benchmark suite runner: fresh interpreters, absent modules, the Markdown report."""

from __future__ import annotations

from pathlib import Path

from evals.bench import Bench, Outcome, machine, render, run_one


def test_run_one_runs_a_module_main_in_a_fresh_interpreter(tmp_path: Path) -> None:
    bench = Bench("gen", "evals.generator", (str(tmp_path / "d"), "--accounts", "1"), (), "x")
    outcome = run_one(bench, full=False, timeout=120)
    assert outcome.status == "ok", outcome.output
    assert "1 accounts written" in outcome.output
    assert (tmp_path / "d" / "expected.json").exists()


def test_absent_and_failing_modules_are_told_apart() -> None:
    absent = run_one(Bench("nope", "evals.bench_does_not_exist", (), (), "x"), False, 60)
    assert absent.status == "absent"
    failed = run_one(Bench("bad", "evals.generator", ("--no-such-flag",), (), "x"), False, 60)
    assert failed.status == "failed" and "exit status 2" in failed.output


def test_report_names_the_machine_and_keeps_each_output() -> None:
    info = machine()
    assert info["cores"].isdigit() and info["python"].count(".") == 2
    outcome = Outcome(
        Bench("ingest", "evals.bench_ingest", ("--events", "10"), (), "ingest"),
        "ok",
        12.3,
        "ratio ingest / bare 0.71",
        ("--events", "10"),
    )
    text = render([outcome], info, full=False)
    assert "| cores | " in text and info["cpu"] in text
    assert "| ingest | ingest | ok | 12 s | `--events 10` |" in text
    assert "ratio ingest / bare 0.71" in text
