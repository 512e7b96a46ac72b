"""The Typer app every command module registers on, and the helpers commands share."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

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


LOG_FILE = "clerk.log"


@app.callback()
def main() -> None:
    """Evidence Clerk: drafts cited value proof for customer-success review."""
    from clerk.settings import Settings

    configure_logging(Settings().home)


def configure_logging(home: Path) -> Path:
    """Send the clerk's log (warnings with their tracebacks) to ``CLERK_HOME/clerk.log``.

    The terminal shows what happened in a sentence (sweep summary, drafter notes); the
    traceback behind it is in this file, never on the user's screen.
    """
    path = (home / LOG_FILE).resolve()
    logger = logging.getLogger("clerk")
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler) and handler.get_name() == LOG_FILE:
            if Path(handler.baseFilename) == path:
                return path
            logger.removeHandler(handler)
            handler.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.set_name(LOG_FILE)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path


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
