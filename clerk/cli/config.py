"""`clerk config`: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from clerk.cli.app import app, console
from clerk.settings import Settings


@app.command()
def config(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print the effective settings (from CLERK_* variables and .env), secrets masked."""
    settings = Settings()
    shown = settings.display()
    if as_json:
        console.print_json(json.dumps(shown, default=str))
        return
    table = Table("setting", "value", "description", title="Evidence Clerk settings")
    fields = type(settings).model_fields
    for name, value in shown.items():
        env = f"CLERK_{name.upper()}" if name in fields else name
        description = fields[name].description if name in fields else ""
        table.add_row(env, "" if value is None else str(value), description or "")
    console.print(table)
