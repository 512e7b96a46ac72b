"""`clerk generate` and `clerk eval` through Typer's CliRunner, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clerk.cli import app

runner = CliRunner()


def test_generate_writes_a_data_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(tmp_path / "d"), "--accounts", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "2 accounts written" in result.output
    expected = json.loads((tmp_path / "d" / "expected.json").read_text())
    assert len(expected["accounts"]) == 2
    assert sorted(p.name for p in (tmp_path / "d" / "accounts").iterdir()) == sorted(
        expected["accounts"]
    )


def test_generate_refuses_a_bad_date(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(tmp_path / "d"), "--as-of", "July"])
    assert result.exit_code == 2
    assert "not a YYYY-MM-DD date" in result.output


def test_eval_on_the_shipped_example_prints_the_table(example_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "eval",
            str(example_dir),
            "--expected",
            str(example_dir / "expected.json"),
            "--json-out",
            str(out),
        ],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "calculation accuracy" in result.output and "naive-rag" in result.output
    assert "10,440 new, 108 duplicates, 0 rejected, 0 unrouted: matches" in result.output
    report = json.loads(out.read_text())
    clerk = report["headline"]["clerk"]
    assert clerk["calculation_accuracy"] == 1.0
    assert clerk["statement_recall"] == 1.0
    assert clerk["quote_validity"] == 1.0
    # The baseline is scored in the same run, by the same scorer.
    assert report["headline"]["naive-rag"]["calculation_accuracy"] < 1.0


def test_eval_llm_without_a_model_says_so(
    example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clerk.settings import get_settings

    monkeypatch.setenv("CLERK_LLM", "extractive")
    get_settings.cache_clear()
    result = runner.invoke(
        app,
        ["eval", str(example_dir), "--expected", str(example_dir / "expected.json"), "--llm"],
    )
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "clerk eval --llm needs CLERK_LLM=openai:<model>" in result.output
