"""`clerk accounts`: who the clerk knows and how much evidence it holds for each."""

from __future__ import annotations

from rich.table import Table

from clerk.cli.app import app, console
from clerk.ingest.overview import AccountOverview, account_overview
from clerk.store import Store


def accounts_table(rows: list[AccountOverview]) -> Table:
    """The accounts as a Rich table (shared by `clerk accounts` and `clerk demo`)."""
    table = Table(title="Accounts")
    table.add_column("account", no_wrap=True)
    table.add_column("name")
    table.add_column("CSM")
    table.add_column("renewal", no_wrap=True)
    for column in ("events", "tickets", "notes"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.id,
            row.name,
            row.csm or "(no owner)",
            row.renewal.isoformat() if row.renewal else "",
            f"{row.events:,}",
            f"{row.tickets:,}",
            f"{row.notes:,}",
        )
    return table


@app.command()
def accounts() -> None:
    """List accounts with CSM, renewal date and evidence counts, soonest renewal first."""
    store = Store()
    try:
        rows = account_overview(store)
    finally:
        store.close()
    if not rows:
        console.print("No accounts yet. Run [bold]clerk ingest DATA[/] or [bold]clerk demo[/].")
        return
    console.print(accounts_table(rows))
