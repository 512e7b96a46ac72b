"""The Typer app every command module registers on, and the helpers commands share."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

# Exit status of every refusal a user can fix by changing the command: a bad date, path or
# account id, or a database that cannot be reached (click uses 2 for usage errors too).
USAGE_ERROR = 2

console = Console()
err_console = Console(stderr=True)


class UnknownAccount(typer.BadParameter):
    """An account id that names no account in the store (a usage error: exit 2)."""

    def __init__(self, account: str) -> None:
        super().__init__(f"no account {account!r} (see `clerk accounts`)", param_hint="account")


class ClerkGroup(TyperGroup):
    """The `clerk` group: a database that cannot be reached is one clean line and exit 2,
    never a traceback, whichever command met it."""

    def invoke(self, ctx: Any) -> Any:
        from sqlalchemy.exc import DBAPIError, NoSuchModuleError, OperationalError

        try:
            return super().invoke(ctx)
        except (OperationalError, DBAPIError, NoSuchModuleError, ModuleNotFoundError) as exc:
            if isinstance(exc, ModuleNotFoundError) and "psycopg" not in str(exc):
                raise
            err_console.print(f"[bold red]Error:[/] cannot use the database: {escape(_why(exc))}")
            err_console.print(
                "Check CLERK_DATABASE_URL (see `clerk config`) and that the server is running."
            )
            raise typer.Exit(USAGE_ERROR) from None


def _why(exc: BaseException) -> str:
    """The first line of the driver's reason, with no SQL or URL password in it."""
    from clerk.settings import _mask_url_password, get_settings

    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = reason[0] if reason else type(exc).__name__
    url = get_settings().sqlalchemy_url
    return f"{text} ({_mask_url_password(url)})"


app = typer.Typer(
    name="clerk",
    cls=ClerkGroup,
    help="Evidence Clerk: drafts cited value proof for customer-success review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


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
