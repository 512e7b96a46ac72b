"""The demo: the packaged example data ingested into CLERK_HOME.

Later steps of the demo (sweep, serving the review UI) hang off :func:`prepare_demo`.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from clerk.ingest import IngestReport, run_ingest
from clerk.store import Store

DEMO_DATA = Path(__file__).parent / "demo_data"
# The example's CSM (account.yaml) and a manager who sees every account.
DEMO_USERS = (("dana@vendor.example", "csm"), ("morgan@vendor.example", "manager"))


def prepare_demo(
    store: Store | None = None, *, console: Console | None = None, sync_index: bool = True
) -> IngestReport:
    """Ingest the packaged demo data (a copy of the shared example) into the store."""
    store = store or Store()
    return run_ingest(DEMO_DATA, store, console=console, sync_index=sync_index)


def create_demo_users(store: Store) -> list[tuple[str, str, str]]:
    """(email, role, password) of the demo's users, with fresh random passwords each run."""
    from clerk.users import add_user

    return [
        (user.email, user.role, password)
        for user, password in (add_user(store, e, r, replace=True) for e, r in DEMO_USERS)
    ]
