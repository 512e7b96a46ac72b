"""`clerk demo`: the packaged example ingested and swept, demo users made, the review UI served."""

from __future__ import annotations

import typer

from clerk.cli import review
from clerk.cli.accounts import accounts_table
from clerk.cli.app import app, console
from clerk.cli.ingest import print_report
from clerk.cli.sweep import items_table, print_sweep_summary
from clerk.demo import DEMO_ACCOUNT, create_demo_users, prepare_demo, sweep_demo
from clerk.ingest.overview import account_overview
from clerk.settings import get_settings
from clerk.store import Store
from clerk.sweep_items import account_document


@app.command()
def demo(
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Start the review UI afterwards (default) or stop."
    ),
    port: int | None = typer.Option(None, help="Port for the review UI (default: CLERK_PORT)."),
) -> None:
    """Load the bundled example, sweep it, create demo users and serve the review UI."""
    settings = get_settings()
    console.print(f"Loading the demo data into {settings.home} ...")
    store = Store()
    try:
        report = prepare_demo(store, console=console)
        print_report(report, console)
        console.print(accounts_table(account_overview(store)))
        if report.exit_code:
            raise typer.Exit(report.exit_code)
        sweep = sweep_demo(store)
        print_sweep_summary(sweep, console)
        with store.session() as session:
            items_table(account_document(session, DEMO_ACCOUNT, sweep.as_of), console)
        host, port = settings.host, port or settings.port
        console.print(f"\nReview UI: [bold]http://{host}:{port}/[/]  (API docs: /api/docs)")
        for email, role, password in create_demo_users(store):
            console.print(f"  {role:<8} {email:<24} password [bold]{password}[/]")
        if serve:
            review.serve_app(host, port, store=store)
    finally:
        store.close()
