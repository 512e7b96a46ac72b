"""`clerk serve` and `clerk demo`: the commands that run the review UI.

They live with the app they serve and register on the `clerk` command line through the
`clerk.commands` entry point (pyproject.toml), so the product package never imports the UI.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from clerk.cli.accounts import accounts_table
from clerk.cli.app import app, console, err_console
from clerk.cli.ingest import print_report
from clerk.cli.sweep import items_table, print_sweep_summary
from clerk.demo import DEMO_ACCOUNT, create_demo_users, prepare_demo, sweep_demo
from clerk.ingest.overview import account_overview
from clerk.review.current import account_document
from clerk.settings import get_settings
from clerk.store import Store


def serve_app(host: str, port: int, *, store: Store | None = None, workers: int = 1) -> None:
    """Run the review UI with uvicorn until interrupted.

    More than one worker means separate processes, each opening the store from settings.
    """
    import uvicorn

    from review_ui.app import create_app
    from review_ui.security import SecretKeyError, resolve_secret

    settings = get_settings()
    try:
        resolve_secret(settings)  # refuse a short key, or make the key file, before serving
    except SecretKeyError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if workers > 1:
        uvicorn.run(
            "review_ui.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    uvicorn.run(
        create_app(store=store, settings=settings),
        host=host,
        port=port,
        log_level="warning",
    )


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: CLERK_HOST)."),
    port: int | None = typer.Option(None, help="Port (default: CLERK_PORT)."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="uvicorn worker processes (one per core serves most)."
    ),
) -> None:
    """Serve the review UI and the JSON API (docs at /api/docs)."""
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    console.print(f"Evidence Clerk review UI on [bold]http://{host}:{port}/[/]  (Ctrl+C stops)")
    serve_app(host, port, workers=workers)


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
            serve_app(host, port, store=store)
    finally:
        store.close()
