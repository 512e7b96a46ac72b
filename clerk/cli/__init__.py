"""The `clerk` command line. Each module registers its commands on the one Typer app."""

from clerk.cli import config  # noqa: F401
from clerk.cli import accounts, demo, ingest  # noqa: F401
from clerk.cli import sweep  # noqa: F401
from clerk.cli import review  # noqa: F401
from clerk.cli import llm  # noqa: F401
from clerk.cli import index  # noqa: F401
from clerk.cli import evals  # noqa: F401
from clerk.cli.app import app

__all__ = ["app"]
