"""Per-CSM Markdown digests: what each sweep changed for a CSM's accounts.

After every sweep each CSM whose accounts changed gets a digest at
``CLERK_HOME/digests/<csm>/<YYYY-MM-DD>.md`` (the run date, UTC): new items to review, new
gaps, and gaps resolved since the last sweep. A second sweep on the same day appends a section.
(Not to be confused with the monthly *usage* digests of ``clerk.ingest.digests``.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

from clerk.settings import get_settings
from clerk.sweep.run import AccountChanges, SweepReport

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
