"""`clerk llm check` (which structured-output mode works) and `clerk llm-usage` (what it cost).

`clerk llm usage` is the same command as `clerk llm-usage`.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich import box
from rich.table import Column, Table

from clerk.cli.app import app, console
from clerk.drafting.llm_usage import (
    STATUSES,
    ModeMemory,
    UsageRow,
    all_modes,
    latest_sweep_id,
    remember_mode,
    usage_summary,
)
from clerk.settings import get_settings
from clerk.store import Store

llm_app = typer.Typer(help="The language model: check the endpoint, see what sweeps cost.")
app.add_typer(llm_app, name="llm")


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


@llm_app.command("usage")
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
        modes = all_modes(store)
    finally:
        store.close()
    if as_json:
        payload = {
            "sweep_id": summary.sweep_id,
            "modes": summary.modes,
            "working_modes": [
                {
                    "endpoint": m.endpoint,
                    "model": m.model,
                    "mode": m.mode,
                    "system_honoured": m.system_honoured,
                    "misses": m.misses,
                }
                for m in modes
            ],  # fmt: skip
            "rows": [asdict(r) for r in summary.rows],
            "total": {**asdict(summary.total), "cache_hits": summary.total.cache_hits},
            "errors": [{"error": e, "count": n} for e, n in summary.errors],
        }
        console.print_json(json.dumps(payload))
        return
    scope = "all sweeps" if sweep_id is None else f"sweep {sweep_id}"
    if summary.total.calls == 0:
        console.print(f"No model calls recorded for {scope}.")
        _print_modes(modes)
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
    if summary.modes:
        used = ", ".join(f"{mode} {n:,}" for mode, n in sorted(summary.modes.items()))
        console.print(f"Calls per structured-output mode: {used}")
    _print_modes(modes)
    if summary.errors:
        console.print("Most frequent errors:")
        for error, count in summary.errors[:5]:
            console.print(f"  {count:>5} × {error}", markup=False, highlight=False)


def _print_modes(modes: list[ModeMemory]) -> None:
    for m in modes:
        system = {True: "honoured", False: "dropped (folded into the user message)", None: "?"}
        console.print(
            f"Working mode for {m.model} at {m.endpoint}: {m.mode} (found by {m.source}; "
            f"system messages {system[m.system_honoured]})",
            markup=False,
            highlight=False,
        )
        for mode, cause in m.misses.items():
            console.print(f"  {mode} did not work: {cause}", markup=False, highlight=False)


@llm_app.command("check")
def llm_check(
    sample: bool = typer.Option(
        True, "--sample/--no-sample", help="Also draft one item of the bundled example account."
    ),
) -> None:
    """Probe the endpoint once per structured-output mode; pick the mode sweeps will use."""
    from clerk.drafting.llm_check import EndpointError, run_probe

    settings = get_settings()
    provider, _, model = settings.llm.partition(":")
    if provider != "openai" or not model:
        console.print(
            f"CLERK_LLM is {settings.llm!r}: there is no model to check. Set "
            "CLERK_LLM=openai:<model> (and CLERK_OPENAI_BASE_URL for a local server).",
            markup=False,
        )
        raise typer.Exit(2)
    key = settings.openai_api_key
    if settings.openai_base_url is None and not (key and key.get_secret_value()):
        console.print(
            "No API key: set OPENAI_API_KEY (or CLERK_OPENAI_API_KEY), or CLERK_OPENAI_BASE_URL "
            "for a local server.",
            markup=False,
        )
        raise typer.Exit(2)
    console.print(f"Checking {model} at {settings.llm_endpoint} ...", markup=False)
    try:
        report = run_probe(settings)
    except EndpointError as exc:
        console.print(f"Error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    table = _table("Structured-output modes", ["mode", "works", "latency"])
    table.columns[1].no_wrap = False
    for probe in report.probes:
        works = "yes" if probe.works else f"no: {probe.cause}"
        table.add_row(probe.mode, works, f"{probe.latency_s:,.2f}s")
    console.print(table)
    chosen = report.chosen
    if chosen is None:
        console.print(
            "No mode works: sweeps will draft with the extractive drafter for every outcome "
            "(the model's calls fail and fall back). Check the server's log.",
            markup=False,
        )
        raise typer.Exit(1)
    system = {True: "yes", False: "no", None: "not known"}[report.system_honoured]
    console.print(f"Sweeps will use: {chosen}", markup=False)
    console.print(f"System messages honoured: {system} ({report.system_detail})", markup=False)
    store = Store()
    try:
        memory = ModeMemory(
            report.endpoint, report.model, chosen, report.system_honoured, report.misses, "check"
        )
        remember_mode(store, memory)
        if sample:
            _sample(store)
    finally:
        store.close()


def _sample(store: Store) -> None:
    """Draft the example account's first computed outcome with the model, and show it."""
    import asyncio
    import tempfile
    from pathlib import Path

    from clerk.demo import DEMO_ACCOUNT, demo_as_of, prepare_demo
    from clerk.drafting.llm import LLMDrafter
    from clerk.sweep.account import prepare, request_for

    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Store(f"sqlite:///{Path(tmp) / 'sample.db'}")
        try:
            prepare_demo(scratch, sync_index=False)
            with scratch.session() as session:
                prep = prepare(session, DEMO_ACCOUNT, demo_as_of())
        finally:
            scratch.close()
    result = next((r for r in prep.results.values() if r.computed), None)
    if result is None:
        return
    request = request_for(prep, result, demo_as_of(), prep.evidence)
    drafter = LLMDrafter(settings, store)

    async def draft() -> object:
        try:
            return await drafter.draft(request)
        finally:
            await drafter.aclose()

    started = __import__("time").perf_counter()
    drafted = asyncio.run(draft())
    seconds = __import__("time").perf_counter() - started
    console.print(
        f"Sample: {prep.account.name} / {result.outcome.title} ({seconds:,.1f}s, "
        f"mode {drafter.mode})",
        markup=False,
    )
    console.print(f"  claim ({drafted.drafted_by}): {drafted.claim}", markup=False)  # type: ignore[attr-defined]
    for statement in drafted.statements:  # type: ignore[attr-defined]
        console.print(f"  statement ({statement.drafted_by}): {statement.claim}", markup=False)
    for note in drafted.notes[:4]:  # type: ignore[attr-defined]
        console.print(f"  note: {note}", markup=False, highlight=False)
