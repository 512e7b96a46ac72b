"""The Typer app every command module registers on, and the helpers commands share."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="clerk",
    help="Evidence Clerk: drafts cited value proof for customer-success review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def main() -> None:
    """Evidence Clerk: drafts cited value proof for customer-success review."""


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A date option's value; anything but a date ends the command with exit status 2.

    Every command's date options go through here, so they all say the same thing:
    ``Error: --as-of July is not a YYYY-MM-DD date``.
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[bold red]Error:[/] {option} {escape(value)} is not a YYYY-MM-DD date")
        raise typer.Exit(2) from None
