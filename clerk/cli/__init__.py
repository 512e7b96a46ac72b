"""The `clerk` command line. Each module registers its commands on the one Typer app.

Commands from other installed packages register through the ``clerk.commands`` entry point
group (``clerk serve`` / ``clerk demo`` from ``review_ui.cli``, the eval harness's
``clerk generate`` / ``clerk eval`` from ``evals.cli``), so the product never imports them.
"""

from importlib.metadata import entry_points

from clerk.cli import (  # noqa: F401  (imported for their @app.command registrations)
    accounts,
    config,
    index,
    ingest,
    llm,
    review,
    share,
    sweep,
)
from clerk.cli.app import app

for _plugin in entry_points(group="clerk.commands"):
    _plugin.load()

__all__ = ["app"]
