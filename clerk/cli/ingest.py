"""`clerk ingest DATA`: read a data folder into the store and say what happened."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from clerk.cli.app import app, console, err_console
from clerk.ingest import IngestError, IngestReport, run_ingest
from clerk.ingest.report import KINDS
from clerk.retrieval import index_ingested
from clerk.store import Store

UNROUTED_EXAMPLES = 3


def print_report(report: IngestReport, out: Console) -> None:
    """The per-kind summary, the first rejects and where the full reject report is."""
    for kind in KINDS:
        counts = report.counts[kind]
        line = counts.summary(with_updated=kind != "events")
        if counts.skipped_files:
            line += f" ({counts.skipped_files} unchanged file(s) skipped)"
        out.print(f"[bold]{kind:<9}[/] {line}", soft_wrap=True)
    for rel, shape in report.file_shapes.items():
        out.print(f"  {escape(rel)}: {escape(shape)}", soft_wrap=True)
    for note in report.notes:
        out.print(f"[dim]{escape(note)}[/]", soft_wrap=True)
    if report.digests is not None:
        out.print(f"[dim]usage digests written: {report.digests:,}[/]")
    if report.index is not None:
        indexed = getattr(report.index, "sources", 0)
        chunks = getattr(report.index, "chunks", 0)
        out.print(f"[dim]vector index: {indexed:,} sources (re)indexed, {chunks:,} chunks[/]")
    if report.rejected_total:
        out.print(f"\n[bold red]Rejected {report.rejected_total:,} record(s)[/]:")
        for reject in report.rejects:
            out.print(f"  {escape(reject.where())}: {escape(reject.reason)}", soft_wrap=True)
        if report.rejected_total > len(report.rejects):
            out.print(f"  ... and {report.rejected_total - len(report.rejects):,} more")
    if report.unrouted_total:
        # The grouped "route to no account" note above names every subject; a few examples
        # show where they stand, the reject report lists them all.
        shown = report.unrouted[:UNROUTED_EXAMPLES]
        out.print(f"\n[bold yellow]Unrouted {report.unrouted_total:,} record(s)[/], for example:")
        for reject in shown:
            out.print(f"  {escape(reject.where())}: {escape(reject.reason)}", soft_wrap=True)
        if report.unrouted_total > len(shown):
            out.print(f"  ... and {report.unrouted_total - len(shown):,} more")
    if report.reject_report is not None:
        out.print(f"Reject report: {escape(str(report.reject_report))}", soft_wrap=True)
    if report.not_understood:
        out.print("\n[bold yellow]Not understood, left alone:[/]")
        for why in report.not_understood:
            out.print(f"  {escape(why)}", soft_wrap=True)
    if report.nothing_ingestible:
        out.print(
            f"\n[bold red]Nothing ingestible in {escape(str(report.data_dir))}[/]: no account, "
            "event, ticket or note was read"
            + (" (see the files above)" if report.not_understood else "")
            + ". Exit status 1.",
            soft_wrap=True,
        )


def stages() -> Progress:
    """The ingest's progress: one row per stage with a spinner, bar, count and time."""
    return Progress(
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def ingest(
    data: Path = typer.Argument(..., help="The data folder (accounts/, usage/, tickets/)."),
    index: bool = typer.Option(
        True, "--index/--no-index", help="Update the vector index (skip for bulk loads)."
    ),
) -> None:
    """Read a data folder into the store. Exit status 1 when any record was rejected, or
    when nothing in the folder was ingestible."""
    store = Store()
    try:
        with stages() as bar:
            # A live line per stage, so a long ingest (embedding a few thousand tickets takes
            # minutes on a laptop) never looks stuck.
            reading = bar.add_task("reading accounts, usage, tickets and notes", total=None)
            report = run_ingest(data, store, console=console)
            bar.update(reading, total=1, completed=1)
            if index:
                indexing = bar.add_task("indexing changed sources", total=None)

                def advance(done: int, total: int) -> None:
                    bar.update(indexing, completed=done, total=max(total, 1))

                stats = index_ingested(store, report, progress=advance)
                bar.update(
                    indexing,
                    description=f"indexed {stats.sources:,} sources",
                    total=max(stats.sources, 1),
                    completed=max(stats.sources, 1),
                )
    except IngestError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    print_report(report, console)
    raise typer.Exit(report.exit_code)
