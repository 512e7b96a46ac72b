"""The Typer app every command module registers on, and the helpers commands share."""

from __future__ import annotations

import typer
from rich.console import Console

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
