"""The demo: the packaged example ingested and swept at its as-of date, demo users made.

`clerk demo` prints what each step did and then serves the review UI over this store.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.console import Console

from clerk.ingest import IngestReport, run_ingest
from clerk.retrieval import index_ingested
from clerk.review.users import add_user
from clerk.store import Store
from clerk.sweep.run import SweepReport, run_sweep

DEMO_DATA = Path(__file__).parent / "demo_data"
DEMO_ACCOUNT = "northwind"
# The example's CSM (account.yaml) and a manager who sees every account.
DEMO_USERS = (("dana@vendor.example", "csm"), ("morgan@vendor.example", "manager"))


def demo_as_of() -> dt.date:
    """The date the packaged example is drafted at (its expected.json's as_of)."""
    expected = json.loads((DEMO_DATA / "expected.json").read_text(encoding="utf-8"))
    return dt.date.fromisoformat(expected["as_of"])


def prepare_demo(
    store: Store | None = None, *, console: Console | None = None, sync_index: bool = True
) -> IngestReport:
    """Ingest the packaged demo data (a copy of the shared example) into the store."""
    store = store or Store()
    report = run_ingest(DEMO_DATA, store, console=console)
    if sync_index:
        index_ingested(store, report)
    return report


def sweep_demo(store: Store) -> SweepReport:
    """Draft the demo account's proof at the example's as-of date."""
    return run_sweep(store, as_of=demo_as_of())


def create_demo_users(store: Store) -> list[tuple[str, str, str]]:
    """(email, role, password) of the demo's users, with fresh random passwords each run."""
    return [
        (user.email, user.role, password)
        for user, password in (add_user(store, e, r, replace=True) for e, r in DEMO_USERS)
    ]
