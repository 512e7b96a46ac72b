"""`clerk llm-usage`: what the model cost in a sweep — calls, tokens, latency, statuses."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich import box
from rich.table import Column, Table

from clerk.cli.app import app, console
from clerk.drafting.llm_usage import STATUSES, UsageRow, latest_sweep_id, usage_summary
from clerk.store import Store


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:,.2f}s"


def _table(title: str, columns: list[str]) -> Table:
    # Cells never wrap: a number broken over two lines is misread.
    return Table(
        *(Column(name, no_wrap=True, justify="left" if i < 2 else "right")
          for i, name in enumerate(columns)),
        title=title,
        box=box.SIMPLE_HEAD,
    )  # fmt: skip


def _cost_row(row: UsageRow) -> list[str]:
    tokens = f"{row.tokens_in:,}/{row.tokens_out:,}"
    return [row.model, row.task, f"{row.calls:,}", f"{row.attempts:,}", tokens,
            _ms(row.p50_ms), _ms(row.p95_ms)]  # fmt: skip


def _status_row(row: UsageRow) -> list[str]:
    return [row.model, row.task, *(f"{row.statuses.get(s, 0):,}" for s in STATUSES)]


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
    costs = _table(
        f"Model usage, {scope}", ["model", "task", "calls", "HTTP", "tokens in/out", "p50", "p95"]
    )
    statuses = _table("How the calls ended", ["model", "task", *STATUSES])
    for row in [*summary.rows, summary.total]:
        style = "bold" if row is summary.total else None
        costs.add_row(*_cost_row(row), style=style)
        statuses.add_row(*_status_row(row), style=style)
    console.print(costs)
    console.print(statuses)
    total = summary.total
    console.print(
        f"{total.calls:,} calls, {total.cache_hits:,} answered from the cache, "
        f"{total.attempts:,} HTTP requests, {total.tokens_in + total.tokens_out:,} tokens."
    )
    if summary.errors:
        console.print("Most frequent errors:")
        for error, count in summary.errors[:5]:
            console.print(f"  {count:>5} × {error}", markup=False, highlight=False)
