"""`clerk llm-usage`: what the model cost in a sweep — calls, tokens, latency, statuses."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Column, Table

from clerk.cli.app import app, console
from clerk.llm_usage import STATUSES, UsageRow, latest_sweep_id, usage_summary
from clerk.store import Store


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _row(table: Table, row: UsageRow, *, bold: bool = False) -> None:
    cells = [
        row.model,
        row.task,
        f"{row.calls:,}",
        f"{row.attempts:,}",
        f"{row.tokens_in:,}",
        f"{row.tokens_out:,}",
        _ms(row.p50_ms),
        _ms(row.p95_ms),
        ", ".join(f"{s} {row.statuses[s]:,}" for s in STATUSES if row.statuses.get(s)),
    ]
    table.add_row(*cells, style="bold" if bold else None)


@app.command("llm-usage")
def llm_usage(
    sweep: int | None = typer.Option(
        None, "--sweep", help="Sweep id (default: the latest sweep that used the model)."
    ),
    all_calls: bool = typer.Option(False, "--all", help="Summarise every recorded call."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Model calls of a sweep: calls, HTTP requests, tokens, latency p50/p95, statuses."""
    store = Store()
    try:
        sweep_id = None if all_calls else sweep if sweep is not None else latest_sweep_id(store)
        summary = usage_summary(store, sweep_id)
    finally:
        store.close()
    if as_json:
        payload = {
            "sweep_id": summary.sweep_id,
            "rows": [asdict(r) for r in summary.rows],
            "total": {**asdict(summary.total), "cache_hits": summary.total.cache_hits},
            "errors": [{"error": e, "count": n} for e, n in summary.errors],
        }
        console.print_json(json.dumps(payload))
        return
    scope = "all sweeps" if sweep_id is None else f"sweep {sweep_id}"
    if summary.total.calls == 0:
        console.print(f"No model calls recorded for {scope}.")
        return
    table = Table(
        Column("model", no_wrap=True), Column("task", no_wrap=True), "calls", "HTTP",
        "tokens in", "tokens out", "p50", "p95", "statuses", title=f"Model usage, {scope}",
    )  # fmt: skip
    for row in summary.rows:
        _row(table, row)
    _row(table, summary.total, bold=True)
    console.print(table)
    total = summary.total
    console.print(
        f"{total.calls:,} calls, {total.cache_hits:,} answered from the cache, "
        f"{total.attempts:,} HTTP requests, {total.tokens_in + total.tokens_out:,} tokens."
    )
    if summary.errors:
        console.print("Most frequent errors:")
        for error, count in summary.errors[:5]:
            console.print(f"  {count:>5} × {error}", markup=False, highlight=False)
