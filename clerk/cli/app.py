"""The Typer app every command module registers on, and the helpers commands share."""

from __future__ import annotations

import datetime as dt
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


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A YYYY-MM-DD option; anything else is a usage error (exit 2) naming the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


app = typer.Typer(
    name="clerk",
    cls=ClerkGroup,
    help="Evidence Clerk: drafts cited value proof for customer-success review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main() -> None:
    """Evidence Clerk: drafts cited value proof for customer-success review."""
