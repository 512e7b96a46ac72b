"""Scheduled sweeps and the per-CSM digests each sweep leaves behind.

``clerk schedule --cron "0 6 * * MON"`` runs :func:`sweep_and_digest` in-process on an
APScheduler ``CronTrigger`` (UTC). The same can be had from the system scheduler:

    0 6 * * MON  cd /srv/clerk && .venv/bin/clerk sweep

After every sweep each CSM whose accounts changed gets a Markdown digest at
``CLERK_HOME/digests/<csm>/<YYYY-MM-DD>.md`` (the run date, UTC): new items to review, new
gaps, and gaps resolved since the last sweep. A second sweep on the same day appends a section.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from rich.console import Console

from clerk.settings import get_settings
from clerk.store import Store
from clerk.sweep import AccountChanges, SweepReport, run_sweep

UNASSIGNED = "_unassigned"  # digest folder for accounts without a CSM
DIGEST_TITLE = "# Evidence Clerk digest for {csm}"


def _folder_name(csm: str | None) -> str:
    if not csm:
        return UNASSIGNED
    # An email is a fine folder name; anything that could climb out of digests/ is not.
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", csm).lstrip(".") or UNASSIGNED


def _section(report: SweepReport, changes: list[AccountChanges], now: dt.datetime) -> str:
    lines = [f"## Sweep at {now:%Y-%m-%d %H:%M} UTC (as of {report.as_of.isoformat()})", ""]
    items = [(c, i) for c in changes for i in c.new_items]
    gaps = [(c, g) for c in changes for g in c.new_gaps]
    resolved = [(c, g) for c in changes for g in c.resolved_gaps]
    lines.append(f"### New items to review ({len(items)})")
    lines += [
        f"- **{c.name}** ({c.account_id}) · {i['kind']} · {i['outcome'] or 'payback'}"
        f"{' · UNVERIFIED' if i['status'] == 'unverified' else ''}: {i['claim']}"
        for c, i in items
    ] or ["- none"]
    lines += ["", f"### New gaps ({len(gaps)})"]
    lines += [
        f"- **{c.name}** ({c.account_id}) · {g['kind']} ({g['severity']}) · "
        f"{g['outcome'] or 'account'}: {g['message']}"
        for c, g in gaps
    ] or ["- none"]
    lines += ["", f"### Gaps resolved since the last sweep ({len(resolved)})"]
    lines += [
        f"- **{c.name}** ({c.account_id}) · {g['kind']} · {g['outcome'] or 'account'}: "
        f"{g['message']}"
        for c, g in resolved
    ] or ["- none"]
    return "\n".join(lines) + "\n"


def write_digests(
    report: SweepReport, home: Path | None = None, *, now: dt.datetime | None = None
) -> list[Path]:
    """Write one Markdown digest per CSM with changes in ``report``; return the files."""
    home = home or get_settings().home
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    by_csm: dict[str | None, list[AccountChanges]] = defaultdict(list)
    for change in report.changes:
        if change.new_items or change.new_gaps or change.resolved_gaps:
            by_csm[change.csm].append(change)
    written: list[Path] = []
    for csm, changes in sorted(by_csm.items(), key=lambda kv: kv[0] or ""):
        path = home / "digests" / _folder_name(csm) / f"{now:%Y-%m-%d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        section = _section(report, changes, now)
        if path.exists():
            text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + section
        else:
            text = DIGEST_TITLE.format(csm=csm or "accounts without a CSM") + "\n\n" + section
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def sweep_and_digest(
    store: Store | None = None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    console: Console | None = None,
    **kwargs: Any,
) -> tuple[SweepReport, list[Path]]:
    """Run one sweep and write the CSM digests of what it changed."""
    owned = store is None
    store = store or Store()
    try:
        report = run_sweep(store, as_of=as_of, account=account, console=console, **kwargs)
    finally:
        if owned:
            store.close()
    return report, write_digests(report)


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
    return trigger.get_next_fire_time(None, now)
