"""`clerk generate` and `clerk eval`: planted-truth data sets and the scores against them.

Registered on the `clerk` app through the `clerk.commands` entry point (pyproject.toml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from clerk.cli.app import app, console, parse_date

# Figures that count things (lower is better); the rest are shares shown as percentages.
_COUNTS = {"ungrounded_claim_numbers", "injection_leaks", "false_proof"}


@app.command()
def generate(
    out: Path = typer.Argument(..., help="Folder to write the data set into."),
    accounts: int = typer.Option(20, "--accounts", "-n", min=1, help="How many accounts."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same bytes."),
    as_of: str = typer.Option("2026-07-01", "--as-of", help="The date expected.json is for."),
) -> None:
    """Write a generated DATA folder with planted truth and its expected.json."""
    from evals.generator import generate as run

    day = parse_date(as_of)
    assert day is not None
    expected = run(out, accounts, seed, day)
    counts = expected["ingest"]
    console.print(
        f"{len(expected['accounts'])} accounts written to {escape(str(out))}: "
        f"{counts['new_events']:,} events, {counts['duplicates']:,} duplicates, "
        f"{counts['rejected_rows']:,} malformed rows, {counts['unrouted_events']:,} unrouted. "
        f"Evaluate with: clerk eval {escape(str(out))} --expected "
        f"{escape(str(out / 'expected.json'))}"
    )


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if name in _COUNTS else f"{value:.1%}"


def results_table(heads: dict[str, dict[str, float]], title: str) -> Table:
    """Metrics down, runs across (the clerk first, baselines beside it)."""
    from evals.scoring import HEADLINE

    table = Table(title=title)
    table.add_column("metric")
    for run in heads:
        table.add_column(run, justify="right")
    for name, label in HEADLINE:
        table.add_row(label, *[_cell(name, heads[run].get(name)) for run in heads])
    return table


def _gap_table(report: dict[str, Any]) -> Table:
    table = Table(title="Gap flags by kind (clerk)")
    for column in ("kind", "expected", "found", "extra", "recall", "precision"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, row in report["gaps"]["per_kind"].items():
        table.add_row(
            kind,
            str(row["expected"]),
            str(row["found"]),
            str(row["extra"]),
            f"{row['recall']:.1%}",
            f"{row['precision']:.1%}",
        )
    return table


def phenomena_table(runs: dict[str, dict[str, Any]]) -> Table:
    """A row per planted phenomenon: the clerk's figures, the baselines' false proof beside."""
    clerk = runs["clerk"]
    others = [name for name in runs if name != "clerk"]
    table = Table(title="Customer statements by planted phenomenon (clerk)")
    columns = ["phenomenon", "accounts", "statements", "recall", "value acc.", "false proof",
               "gap recall", "gap precision"] + [f"false proof ({n})" for n in others]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "phenomenon" else "right")
    for name, row in clerk.get("phenomena", {}).items():
        table.add_row(
            name,
            str(row["accounts"]),
            str(row["statements_expected"]),
            f"{row['statement_recall']:.1%}",
            f"{row['statement_value_accuracy']:.1%}",
            str(row["false_proof"]),
            f"{row['gap_recall']:.1%}",
            f"{row['gap_precision']:.1%}",
            *[
                str(runs[n].get("phenomena", {}).get(name, {}).get("false_proof", "—"))
                for n in others
            ],
        )
    return table


@app.command("eval")
def evaluate(
    data: Path = typer.Argument(..., exists=True, file_okay=False, help="The DATA folder."),
    expected_path: Path = typer.Option(
        ..., "--expected", exists=True, dir_okay=False, help="Its expected.json."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Default: expected.json's as_of."),
    json_out: Path | None = typer.Option(None, "--json-out", help="Write the full report here."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Score the naive-RAG baseline beside the clerk."
    ),
    llm_fake: bool = typer.Option(
        False,
        "--llm-fake",
        help="Also run the LLM drafter and the LLM baseline against the local fake server.",
    ),
    llm: bool = typer.Option(
        False,
        "--llm",
        help="Also sweep with the configured model (CLERK_LLM, CLERK_OPENAI_BASE_URL) and "
        "score it beside the extractive clerk.",
    ),
    show_failures: int = typer.Option(10, "--failures", help="Misses to list (0: none)."),
) -> None:
    """Ingest DATA into a scratch home, sweep, and score the drafts against expected.json."""
    from evals.evaluate import run_eval

    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    try:
        result = run_eval(
            data,
            expected,
            as_of=parse_date(as_of),
            baseline=baseline,
            llm_fake=llm_fake,
            llm=llm,
            console=console,
        )
    except ValueError as exc:
        console.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    doc = result.to_json()
    n = len(expected.get("accounts", {}))
    console.print(results_table(doc["headline"], f"Evaluation of {n} accounts at {result.as_of}"))
    console.print(_gap_table(result.clerk))
    console.print(phenomena_table({"clerk": result.clerk, **result.baselines}))
    ingest = result.ingest
    verdict = "[green]matches[/]" if ingest.get("match") else "[red]differs from[/]"
    got = ingest.get("got", {})
    console.print(
        f"Ingest: {got.get('new_events', 0):,} new, {got.get('duplicates', 0):,} "
        f"duplicates, {got.get('rejected_rows', 0):,} rejected, "
        f"{got.get('unrouted_events', 0):,} unrouted: {verdict} expected.json"
    )
    runs = {"clerk": result.clerk, **result.variants, **result.baselines}
    console.print(
        "Drafted by: "
        + "; ".join(
            f"{name} " + ", ".join(f"{k} {v:,}" for k, v in r.get("drafted_by", {}).items())
            for name, r in runs.items()
        )
    )
    console.print("Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    if result.llm:
        m = result.llm
        console.print(
            f"Model: {m['calls']:,} calls ({m['http_requests']:,} HTTP), modes "
            + ", ".join(f"{k} {v}" for k, v in m["modes"].items())
            + f", {m['seconds_per_call']:.1f} s per call, {m['fallbacks']} fallbacks; refused: "
            + (", ".join(f"{k} {v}" for k, v in m["refusals"].items()) or "nothing"),
            markup=False,
        )
    if result.sweep_failures:
        console.print(f"[red]{len(result.sweep_failures)} account(s) failed to sweep[/]")
    for line in result.clerk["failures"][:show_failures]:
        console.print(f"  [yellow]miss[/] {escape(line)}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
        console.print(f"Report written to {escape(str(json_out))}")
