"""The `clerk` command line. Each module registers its commands on the one Typer app."""

from clerk.cli import (  # noqa: F401  (imported for their @app.command registrations)
    accounts,
    config,
    demo,
    evals,
    index,
    ingest,
    llm,
    review,
    sweep,
)
from clerk.cli.app import app

__all__ = ["app"]
