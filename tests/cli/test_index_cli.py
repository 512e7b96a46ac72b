"""`clerk reindex` and `clerk search` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clerk.cli import app
from clerk.ingest import run_ingest
from clerk.store import Store

runner = CliRunner()


def test_reindex_with_digests_then_search(store: Store, example_dir: Path) -> None:
    run_ingest(example_dir, store)

    result = runner.invoke(app, ["reindex", "--digests"])
    assert result.exit_code == 0, result.output
    assert "usage digests rebuilt: " in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("indexed "))
    assert " sources, " in line and " chunks in " in line

    again = runner.invoke(app, ["reindex", "--changed", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output)
    assert summary["sources"] == 0 and summary["unchanged"] > 0

    found = runner.invoke(
        app, ["search", "northwind", "invoice approvals in May", "--kind", "usage_digest", "--json"]
    )
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert hits[0]["source_id"] == "digest:northwind/approval.completed/2026-05"
    assert {h["kind"] for h in hits} == {"usage_digest"}

    table = runner.invoke(app, ["search", "northwind", "close the books", "--customer", "-k", "3"])
    assert table.exit_code == 0, table.output
    assert "note:northwind/2026-06-12-call.md" in table.output
    assert "customer" in table.output


def test_search_rejects_bad_input(store: Store) -> None:
    result = runner.invoke(app, ["search", "northwind", "x", "--kind", "email"])
    assert result.exit_code != 0
    assert "unknown kind" in result.output
    result = runner.invoke(app, ["search", "northwind", "x", "--since", "May"])
    assert result.exit_code == 2
    assert "Error: --since May is not a YYYY-MM-DD date" in result.output
