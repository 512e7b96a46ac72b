"""`clerk share`: a link that shows one published packet version to the customer."""

from __future__ import annotations

import typer

from clerk.cli.app import app, console, err_console
from clerk.store import Store


@app.command("share")
def share(
    account: str | None = typer.Argument(None, help="The account whose packet to share."),
    version: int | None = typer.Option(
        None, "--version", help="Published version to share (default: the newest)."
    ),
    expires: str | None = typer.Option(
        None,
        "--expires",
        help="How long the link works: 30d, 2w (default CLERK_SHARE_EXPIRES_DAYS).",
    ),
    revoke: str | None = typer.Option(
        None, "--revoke", help="Revoke a link instead: its id (from --list) or its token."
    ),
    list_: bool = typer.Option(False, "--list", help="List the account's links."),
) -> None:
    """Share a published packet with the customer (prints the URL once), list or revoke links."""
    from clerk.review.decisions import ReviewError
    from clerk.review.shares import create_share, list_shares, parse_days, revoke_share
    from clerk.settings import get_settings

    settings = get_settings()
    store = Store()
    try:
        if revoke is not None:
            link = revoke_share(store, revoke)
            console.print(
                f"Revoked link {link.id} ({link.account_id} v{link.version}); it now shows nothing."
            )
            return
        if account is None:
            err_console.print("[red]Name the account to share (or use --revoke).[/]")
            raise typer.Exit(2)
        if list_:
            # tab-separated, one link a line, for scripts as much as for eyes
            print("id\tversion\tstate\tcreated\tby\texpires\tanswers")
            for link in list_shares(store, account):
                print(
                    f"{link.id}\tv{link.version}\t{link.state()}\t{link.created_at:%Y-%m-%d}\t"
                    f"{link.created_by}\t{link.expires_at:%Y-%m-%d}\t{link.responses}"
                )
            return
        days = parse_days(expires) if expires else settings.share_expires_days
        token, link = create_share(store, account, version=version, days=days)
    except ReviewError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"Link {link.id} to {account} packet v{link.version}, valid until "
        f"{link.expires_at:%Y-%m-%d %H:%M} UTC (shown once; revoke with "
        f"`clerk share --revoke {link.id}`):"
    )
    # printed plain so a terminal never wraps or styles the token
    print(f"{settings.base_url}/s/{token}")
