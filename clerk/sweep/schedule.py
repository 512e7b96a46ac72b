"""Scheduled sweeps and the per-CSM digests each sweep leaves behind.

``clerk schedule --cron "0 6 * * MON"`` runs :func:`sweep_and_digest` in-process on an
APScheduler ``CronTrigger`` (UTC). The same can be had from the system scheduler:

    0 6 * * MON  cd /srv/clerk && .venv/bin/clerk sweep

After every sweep each CSM whose accounts changed gets a Markdown digest
(``clerk.sweep.csm_digests``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from rich.console import Console

from clerk.store import Store
from clerk.sweep.csm_digests import write_digests
from clerk.sweep.run import SweepReport, run_sweep


def sweep_and_digest(
    store: Store | None = None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    console: Console | None = None,
    **kwargs: Any,
) -> tuple[SweepReport, list[Path]]:
    """Run one sweep and write the CSM digests of everything no digest has reported yet.

    That includes what an earlier sweep stored before it was killed (or before it failed):
    digests are written from the store, not from this sweep's report.
    """
    owned = store is None
    store = store or Store()
    try:
        report = run_sweep(store, as_of=as_of, account=account, console=console, **kwargs)
        return report, write_digests(store)
    finally:
        if owned:
            store.close()


def build_scheduler(
    cron: str, job: Callable[[], Any], *, scheduler: BlockingScheduler | None = None
) -> BlockingScheduler:
    """A scheduler that runs ``job`` on the crontab expression ``cron`` (UTC).

    A bad expression raises ValueError naming it. Missed runs (the machine was asleep)
    coalesce into one run, at most an hour late.
    """
    try:
        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a crontab expression: {cron!r} ({exc})") from None
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        job,
        trigger,
        id="sweep",
        name=f"clerk sweep ({cron})",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
        replace_existing=True,
    )
    return scheduler


def next_run(cron: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When ``cron`` fires next after ``now`` (UTC)."""
    now = now or dt.datetime.now(dt.UTC)
    trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    fire: dt.datetime | None = trigger.get_next_fire_time(None, now)
    return fire
