"""`clerk reindex` (rebuild the vector index, or the usage digests, from SQL) and
`clerk search ACCOUNT QUERY` (what retrieval finds, for humans checking it)."""

from __future__ import annotations

import json
import time

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clerk.cli.app import UnknownAccount, app, console, parse_date
from clerk.ingest.digests import rebuild_all_digests
from clerk.retrieval import describe, reindex, search, sync_index
from clerk.store import Store
from clerk.store.tables import AccountRow

KINDS = ("ticket", "ticket_comment", "note", "usage_digest")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]indexing[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sources"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command("reindex")
def reindex_command(
    digests: bool = typer.Option(
        False, "--digests", help="First rebuild every usage digest from the usage events."
    ),
    changed_only: bool = typer.Option(
        False, "--changed", help="Index only new and changed sources instead of rebuilding all."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Rebuild the vector index from SQL (the index is derived; SQL is the truth)."""
    store = Store()
    try:
        digest_count: int | None = None
        digest_seconds = 0.0
        if digests:
            started = time.perf_counter()
            with store.session() as session:
                digest_count = rebuild_all_digests(session)
            digest_seconds = time.perf_counter() - started
        with _progress() as bar:
            task = bar.add_task("index", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            run = sync_index if changed_only else reindex
            stats = run(store, progress=advance)
    finally:
        store.close()
    summary = describe(stats)
    if digest_count is not None:
        summary["digests"] = digest_count
        summary["digest_seconds"] = round(digest_seconds, 2)
    if as_json:
        console.print_json(json.dumps(summary))
        return
    if digest_count is not None:
        console.print(f"usage digests rebuilt: {digest_count:,} in {digest_seconds:.1f} s")
    line = f"indexed {stats.sources:,} sources, {stats.chunks:,} chunks in {stats.seconds:.1f} s"
    if changed_only:
        line += f" ({stats.unchanged:,} unchanged, {stats.removed:,} removed)"
    console.print(line)


@app.command("search")
def search_command(
    account: str = typer.Argument(..., help="Account id."),
    query: str = typer.Argument(..., help="What to look for, in plain words."),
    kind: list[str] = typer.Option(
        [], "--kind", help=f"Only these source kinds (repeatable): {', '.join(KINDS)}."
    ),
    customer: bool | None = typer.Option(
        None, "--customer/--not-customer", help="Only the customer's words / only the others."
    ),
    since: str | None = typer.Option(None, help="Sources dated on or after this day."),
    until: str | None = typer.Option(None, help="Sources dated before this day."),
    k: int = typer.Option(10, "-k", help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search one account's tickets, notes and usage digests (BM25 + vectors)."""
    unknown = sorted(set(kind) - set(KINDS))
    if unknown:
        raise typer.BadParameter(f"unknown kind(s): {', '.join(unknown)}", param_hint="--kind")
    start, end = parse_date(since, "--since"), parse_date(until, "--until")
    store = Store()
    try:
        with store.session() as session:
            if session.get(AccountRow, account) is None:
                raise UnknownAccount(account)
        hits = search(
            store,
            account,
            query,
            kinds=kind or None,
            customer=customer,
            since=start,
            until=end,
            k=k,
        )
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps([h.model_dump(mode="json") for h in hits]))
        return
    if not hits:
        console.print(f"No passages for {escape(account)} match.")
        return
    # One block per passage rather than a table: passages are prose and need the width.
    console.print(f"[bold]{escape(account)}[/]: {escape(query)}")
    for rank, hit in enumerate(hits, start=1):
        who = "  [green]customer[/]" if hit.customer else ""
        console.print(
            f"\n[bold]{rank}.[/] [cyan]{escape(hit.source_id)}[/] [{hit.start}:{hit.end}]  "
            f"{hit.date.date().isoformat()}{who}  [dim]score {hit.score:.4f}[/]",
            soft_wrap=True,
        )
        text = " ".join(hit.text.split())
        console.print(
            Padding(escape(text if len(text) <= 400 else text[:397] + "..."), (0, 0, 0, 3))
        )
