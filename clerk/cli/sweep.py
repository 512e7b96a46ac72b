"""`clerk sweep`, `clerk items`, `clerk gaps`, `clerk schedule`: the evidence engine's commands."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from clerk.cli import jsonout
from clerk.cli.app import (
    LOG_FILE,
    USAGE_ERROR,
    UnknownAccount,
    app,
    console,
    err_console,
    parse_date,
)
from clerk.domain.format import claim_number
from clerk.domain.models import GAP_KINDS
from clerk.domain.vocabulary import severity_rank
from clerk.review.current import account_document, current_proofs, latest_as_of
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import AccountRow, GapFlagRow
from clerk.sweep.lock import SweepBusy
from clerk.sweep.run import SweepReport, run_sweep, today_utc

_STATUS_STYLE = {
    "pending": "yellow",
    "unverified": "red",
    "approved": "green",
    "edited": "green",
    "rejected": "dim",
}
_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def print_sweep_summary(report: SweepReport, out: Console, digests: int = 0) -> None:
    """The sweep's summary line by line, failures named."""
    table = Table(title=f"Sweep as of {report.as_of.isoformat()}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("accounts", f"{report.accounts:,}")
    table.add_row("  swept", f"{report.swept:,}")
    table.add_row("  unchanged, skipped", f"{report.skipped:,}")
    if report.failed:
        table.add_row("  [red]failed[/]", f"{len(report.failed):,}")
    table.add_row("new items", f"{report.new_items:,}")
    table.add_row("superseded drafts", f"{report.superseded:,}")
    table.add_row("new gaps", f"{report.new_gaps:,}")
    table.add_row("resolved gaps", f"{report.resolved_gaps:,}")
    if digests:
        table.add_row("CSM digests written", f"{digests:,}")
    notes = sum(len(n) for n in report.drafter_notes.values())
    if notes:
        table.add_row("drafter notes (refusals, fallbacks)", f"{notes:,}")
    table.add_row("time", f"{report.seconds:.2f} s")
    out.print(table)
    for account_id, error in list(report.failed.items())[:20]:
        out.print(f"[red]{escape(account_id)}[/]: {escape(error)}", soft_wrap=True)
    for where, lines in list(sorted(report.drafter_notes.items()))[:10]:
        for line in lines[:3]:
            out.print(f"[yellow]{escape(where)}[/]: {escape(line)}", soft_wrap=True)
    if report.failed:
        log_file = Settings().home / LOG_FILE
        out.print(f"[dim]Tracebacks are in {escape(str(log_file))}.[/]", soft_wrap=True)


@app.command()
def sweep(
    account: str | None = typer.Option(None, "--account", help="Sweep only this account."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date to report at (default: today, UTC)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Redraft accounts even when their evidence has not changed."
    ),
) -> None:
    """Compute, draft, verify and flag gaps for every account whose evidence changed."""
    from clerk.sweep.schedule import sweep_and_digest

    day = parse_date(as_of)
    store = Store()
    try:
        report, digests = sweep_and_digest(
            store, as_of=day, account=account, console=console, force=force
        )
    except LookupError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc.args[0]))}")
        raise typer.Exit(USAGE_ERROR) from None
    except SweepBusy as exc:
        err_console.print(f"[bold yellow]Not swept:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(3) from None
    finally:
        store.close()
    print_sweep_summary(report, console, len(digests))
    if report.failed:
        raise typer.Exit(1)


def _number(value: float | None) -> str:
    return "" if value is None else claim_number(value)


def items_table(document: dict[str, Any], out: Console) -> None:
    """The FORMATS §8 document for a reader: one block per item and per gap, never cut."""
    out.print(f"[bold]Proof items: {document['account']} as of {document['as_of']}[/]")
    for item in document["proof_items"]:
        status = item["status"]
        style = _STATUS_STYLE.get(status, "")
        numbers = f"delivered {_number(item['delivered'])}"
        if item["target"] is not None:
            numbers += f" / target {_number(item['target'])}"
        head = (
            f"  [bold]{item['outcome'] or 'payback'}[/] · {item['kind']} · "
            f"[{style or 'default'}]{status}[/] · {item['evidence_category']} · "
            f"confidence {item['confidence']} · {numbers}"
        )
        out.print(head, soft_wrap=True)
        edited = item.get("edited") or {}
        if edited.get("claim"):
            # the CSM's words are what the packet shows; the clerk's draft stays beside them
            note = "asserted by CSM" if edited.get("asserted_by_csm") else "edited by CSM"
            out.print(f"    {escape(edited['claim'])} [cyan]({note})[/]", soft_wrap=True)
            out.print(f"    [dim]clerk's draft: {escape(item['claim'])}[/]", soft_wrap=True)
        else:
            out.print(f"    {escape(item['claim'])}", soft_wrap=True)
        if item.get("reject_reason"):
            out.print(f"    [dim]rejected: {escape(item['reject_reason'])}[/]", soft_wrap=True)
        for error in item.get("verification_errors") or []:
            out.print(f"    [red]not verified: {escape(error)}[/]", soft_wrap=True)
    if not document["proof_items"]:
        out.print("  none (has the account been swept at this date?)")
    gaps_table(document["gap_flags"], out, title="Gap flags", with_account=False)


def gaps_table(
    rows: list[dict[str, Any]],
    out: Console,
    *,
    title: str,
    with_account: bool = True,
    today: dt.date | None = None,
) -> None:
    """Gap flags for a reader: what is missing, the next action, who owns it, by when."""
    today = today or today_utc()
    out.print(f"[bold]{title}[/]")
    for gap in rows:
        where = f"{gap['account']} · " if with_account else ""
        severity = f"[{_SEVERITY_STYLE.get(gap['severity'], 'default')}]{gap['severity']}[/]"
        out.print(
            f"  {where}[bold]{gap['outcome'] or '(account)'}[/] · {gap['kind']} · {severity} · "
            f"{gap['status']} · owner {gap['owner'] or '(no owner)'}",
            soft_wrap=True,
        )
        out.print(f"    {escape(gap['message'])}", soft_wrap=True)
        due = gap.get("due_date")
        when = ""
        if due:
            day = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due))
            late = day < today and gap["status"] in ("open", "acknowledged")
            when = f" · due {day.isoformat()}" + (
                f" [bold red]OVERDUE by {(today - day).days} days[/]" if late else ""
            )
        out.print(f"    [dim]Next:[/] {escape(gap['next_action'])}{when}", soft_wrap=True)
    if not rows:
        out.print("  [green]none[/]")


@app.command()
def items(
    account: str = typer.Argument(..., help="The account id."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date the items report at (default: the account's latest sweep)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print FORMATS §8 JSON."),
    sweep_first: bool = typer.Option(
        True,
        "--sweep/--no-sweep",
        help="First bring the account's drafts up to date at this date (incremental: "
        "nothing is redrafted when its evidence has not changed).",
    ),
) -> None:
    """Show an account's drafted proof items and gap flags with their review status."""
    day = parse_date(as_of)
    store = Store()
    try:
        with store.session() as session:
            if session.get(AccountRow, account) is None:
                raise UnknownAccount(account)
            day = day or latest_as_of(session, account) or today_utc()
        if sweep_first:
            try:
                report = run_sweep(store, as_of=day, account=account)
            except LookupError as exc:
                err_console.print(f"[bold red]Error:[/] {escape(str(exc.args[0]))}")
                raise typer.Exit(1) from None
            except SweepBusy as exc:  # show the drafts as they stand
                err_console.print(f"[yellow]Not swept first:[/] {escape(str(exc))}")
                report = None
            for failed, error in report.failed.items() if report else ():
                err_console.print(f"[red]sweep of {escape(failed)} failed:[/] {escape(error)}")
        with store.session() as session:
            document = account_document(session, account, day)
            swept = latest_as_of(session, account) is not None
    finally:
        store.close()
    if not swept:
        err_console.print(f"[yellow]{account} has not been swept yet: run `clerk sweep`.[/]")
    if as_json:
        typer.echo(jsonout.dumps(document, indent=1, ensure_ascii=False))
    else:
        items_table(document, console)


@app.command()
def gaps(
    account: str | None = typer.Option(None, "--account", help="Only this account."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind of gap."),
    status: str = typer.Option(
        "open,acknowledged", "--status", help="Comma-separated statuses, or 'all'."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List gap flags across accounts, most severe first."""
    if kind is not None and kind not in GAP_KINDS:
        raise typer.BadParameter(
            f"{kind!r} is not one of {', '.join(GAP_KINDS)}", param_hint="--kind"
        )
    from clerk.store.rows import gap_document

    wanted = None if status == "all" else {s.strip() for s in status.split(",")}
    store = Store()
    try:
        with store.session() as session:
            if account and session.get(AccountRow, account) is None:
                raise UnknownAccount(account)
            # the flags of each account's current proof (clerk.review.current), plus closed
            # ones when asked for: those are history, not part of any current proof
            rows = [
                g
                for proof in current_proofs(session, [account] if account else None).values()
                for g in proof.gaps
            ]
            if wanted is None or "resolved" in wanted:
                query = select(GapFlagRow).where(GapFlagRow.status == "resolved")
                if account:
                    query = query.where(GapFlagRow.account_id == account)
                rows += list(session.scalars(query))
            rows = [
                r
                for r in rows
                if (wanted is None or r.status in wanted) and (kind is None or r.kind == kind)
            ]
            docs = [{"account": r.account_id, **gap_document(r)} for r in rows]
    finally:
        store.close()
    docs.sort(
        key=lambda d: (severity_rank(d["severity"]), d["account"], d["outcome"] or "", d["kind"])
    )
    if as_json:
        typer.echo(jsonout.dumps(docs, indent=1, ensure_ascii=False))
    else:
        gaps_table(docs, console, title=f"Gap flags ({len(docs)})")


@app.command()
def schedule(
    cron: str = typer.Option("0 6 * * MON", "--cron", help="Crontab expression, UTC."),
    once: bool = typer.Option(False, "--once", help="Run one sweep now and exit."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Fixed as-of date for every run (default: the day of the run)."
    ),
) -> None:
    """Run sweeps on a schedule in this process (Ctrl-C stops), writing CSM digests."""
    from clerk.sweep.schedule import build_scheduler, next_run, sweep_and_digest

    day = parse_date(as_of)

    def job() -> None:
        try:
            report, digests = sweep_and_digest(as_of=day, console=console)
        except SweepBusy as exc:  # the scheduled run skips a turn; the running sweep goes on
            err_console.print(f"[bold yellow]Not swept:[/] {escape(str(exc))}", soft_wrap=True)
            return
        print_sweep_summary(report, console, len(digests))

    try:
        scheduler = build_scheduler(cron, job)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cron") from None
    if once:
        job()
        return
    console.print(
        f"Sweeping on [bold]{escape(cron)}[/] (UTC); next run {next_run(cron)}. Ctrl-C stops."
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        console.print("Stopped.")
