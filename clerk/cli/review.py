"""`clerk serve`, `clerk users add|list` and `clerk packet`: the review side of the CLI."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from clerk.cli.app import USAGE_ERROR, app, console, err_console, parse_date
from clerk.store import Store

users_app = typer.Typer(
    help="Users of the review UI (roles: csm, manager, admin).", no_args_is_help=True
)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    email: str = typer.Argument(..., help="The user's email (a CSM's must match accounts' csm)."),
    role: str = typer.Option("csm", "--role", help="csm, manager or admin."),
    password: str | None = typer.Option(
        None, "--password", help="Password to set; without it a random one is printed."
    ),
    replace: bool = typer.Option(False, "--replace", help="Reset role and password if present."),
) -> None:
    """Add a user who can sign in to the review UI."""
    from clerk.review.users import UserError, add_user

    try:
        user, plain = add_user(Store(), email, role, password, replace=replace)
    except UserError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"Added {user.email} ({user.role}).")
    if password is None:
        console.print(f"Password: [bold]{plain}[/]  (shown once)")


@users_app.command("list")
def users_list() -> None:
    """List users and their roles."""
    from clerk.review.users import disabled_emails, list_users

    store = Store()
    disabled = disabled_emails(store)
    for user in list_users(store):
        mark = "\tdisabled" if user.email in disabled else ""
        console.print(f"{user.email}\t{user.role}{mark}")


@users_app.command("remove")
def users_remove(email: str = typer.Argument(..., help="The user's email.")) -> None:
    """Delete a user and end all their sessions at once (the audit log keeps their name)."""
    from clerk.review.users import UserError, remove_user

    try:
        ended = remove_user(Store(), email)
    except UserError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    console.print(f"Removed {escape(email)}; {ended} session(s) ended.")


@users_app.command("disable")
def users_disable(
    email: str = typer.Argument(..., help="The user's email."),
    enable: bool = typer.Option(False, "--enable", help="Enable the user again instead."),
) -> None:
    """Stop a user from signing in and end all their sessions at once (--enable undoes it)."""
    from clerk.review.users import UserError, set_disabled

    try:
        ended = set_disabled(Store(), email, not enable)
    except UserError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    if enable:
        console.print(f"Enabled {escape(email)}.")
    else:
        console.print(f"Disabled {escape(email)}; {ended} session(s) ended.")


@app.command()
def packet(
    account: str = typer.Argument(..., help="Account id."),
    fmt: str = typer.Option("pdf", "--format", "-f", help="pdf, html, md or json."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: a name under the current folder)."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Publish as the next immutable version before exporting."
    ),
    version: int | None = typer.Option(None, "--version", help="Export a published version."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Read the proof at this date (YYYY-MM-DD; default: newest sweep)."
    ),
    internal: bool = typer.Option(
        False,
        "--internal",
        help="The vendor's internal packet: every gap flag with owner, next action and risk. "
        "Without it: the customer packet (approved proof, customer-safe gap wording).",
    ),
) -> None:
    """Export an account's Value Proof Packet (approved and edited items, open gaps)."""
    from clerk.packet import render as packet_render
    from clerk.packet.assemble import draft_packet, get_packet, publish_packet
    from clerk.review.decisions import NotFound, ReviewError

    if fmt not in packet_render.FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not one of {', '.join(packet_render.FORMATS)}", param_hint="--format"
        )
    day = parse_date(as_of)
    if output is not None and not output.parent.is_dir():
        raise typer.BadParameter(
            f"cannot write {output}: the folder {output.parent} does not exist",
            param_hint="--output",
        )
    audience: packet_render.Audience = "internal" if internal else "customer"
    store = Store()
    try:
        if publish:
            result = publish_packet(store, account, published_by="cli", as_of=day)
            console.print(f"Published {account} version {result.version}.")
        elif version is not None:
            result = get_packet(store, account, version)
        else:
            result = draft_packet(store, account, as_of=day)
    except NotFound as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(USAGE_ERROR) from None
    except ReviewError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    target = output or Path(packet_render.filename(result, fmt, audience))
    try:
        target.write_bytes(packet_render.render(result, fmt, audience=audience))
    except OSError as exc:
        err_console.print(f"[bold red]Error:[/] cannot write {target}: {exc.strerror or exc}")
        raise typer.Exit(USAGE_ERROR) from None
    which = f"version {result.version}" if result.published_at else "draft"
    console.print(
        f"Wrote {target} ({audience} packet, {len(result.proof_items)} items, "
        f"{len(result.gap_flags)} open gaps, as of {result.as_of}, {which})."
    )
