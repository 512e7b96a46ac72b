"""``python -m clerk.cli``: the same as the ``clerk`` command."""

from clerk.cli import app

app(prog_name="clerk")
