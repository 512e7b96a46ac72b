"""The `clerk` command line. Each module registers its commands on the one Typer app."""

from clerk.cli import config  # noqa: F401
from clerk.cli.app import app

__all__ = ["app"]
