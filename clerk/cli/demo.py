"""`clerk demo`: the packaged example ingested and swept, demo users made, the review UI served."""

from __future__ import annotations

import typer

from clerk.cli.accounts import accounts_table
from clerk.cli.app import app, console
from clerk.cli.ingest import print_report
from clerk.demo import prepare_demo
from clerk.ingest.overview import account_overview
from clerk.settings import get_settings
from clerk.store import Store


@app.command()
def demo(
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Start the review UI afterwards (default) or stop."
    ),
    port: int | None = typer.Option(None, help="Port for the review UI (default: CLERK_PORT)."),
) -> None:
    """Load the bundled example, sweep it, create demo users and serve the review UI."""
    console.print(f"Loading the demo data into {get_settings().home} ...")
    store = Store()
    report = prepare_demo(store, console=console)
    print_report(report, console)
    console.print(accounts_table(account_overview(store)))
    if report.exit_code:
        store.close()
        raise typer.Exit(report.exit_code)
    # --- review: sweep at the example's as-of date, users, server --------------------------
    import datetime as dt
    import json

    from clerk.demo import DEMO_DATA, create_demo_users
    from clerk.sweep import run_sweep

    as_of = dt.date.fromisoformat(json.loads((DEMO_DATA / "expected.json").read_text())["as_of"])
    sweep = run_sweep(store, as_of=as_of)
    console.print(f"Swept as of {as_of}: {sweep.stats()}")
    from clerk.cli.sweep import items_table
    from clerk.sweep_items import account_document

    with store.session() as session:  # what the sweep drafted for the example's account
        items_table(account_document(session, "northwind", as_of), console)
    settings = get_settings()
    host, port = settings.host, port or settings.port
    console.print(f"\nReview UI: [bold]http://{host}:{port}/[/]  (API docs: /api/docs)")
    for email, role, password in create_demo_users(store):
        console.print(f"  {role:<8} {email:<24} password [bold]{password}[/]")
    if serve:
        from clerk.cli.review import serve_app

        serve_app(host, port, store=store)
    store.close()
