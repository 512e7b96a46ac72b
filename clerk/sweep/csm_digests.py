"""Per-CSM Markdown digests: what sweeps changed for a CSM's accounts, each line once.

After every sweep each CSM whose accounts changed gets a digest at
``CLERK_HOME/digests/<csm>/<YYYY-MM-DD>.md`` (the run date, UTC): new items to review, new
gaps, and gaps resolved since the last digest. A second digest on the same day appends a
section. (Not to be confused with the monthly *usage* digests of ``clerk.ingest.digests``.)

A digest is derived from durable state, never from one run's memory, so a sweep killed at
any point loses no line and repeats none:

1. The sweep writes one ``digest_entries`` row per new item / new gap / resolved gap in the
   same transaction as the account's drafts (:func:`record_changes`).
2. :func:`write_digests` groups the entries no digest has reported yet by CSM and stores one
   ``csm_digests`` row per CSM, marking its entries with the digest's id, in one
   transaction; entries are claimed with ``WHERE digest_id IS NULL``, so two digest runs at
   once cannot both report a line.
3. Sections not yet written to their file are appended, each behind an invisible
   ``<!-- clerk-digest N -->`` marker, so a run that died between the file and the
   ``written_at`` mark does not append the section twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clerk.settings import get_settings
from clerk.store import Store
from clerk.store.tables import CsmDigestRow, DigestEntryRow, utcnow

UNASSIGNED = "_unassigned"  # digest folder for accounts without a CSM
DIGEST_TITLE = "# Evidence Clerk digest for {csm}"
SECTIONS = ("item", "gap", "resolved")
_MARKER = "<!-- clerk-digest {id} -->"
_CLAIM_TRIES = 3


@dataclass
class AccountChanges:
    """What one account's sweep changed, for the summary and the CSM digests."""

    account_id: str
    name: str
    csm: str | None
    new_items: list[dict[str, Any]] = field(default_factory=list)
    new_gaps: list[dict[str, Any]] = field(default_factory=list)
    resolved_gaps: list[dict[str, Any]] = field(default_factory=list)
    superseded: int = 0


class DigestRace(RuntimeError):
    """Another digest run claimed some of the same entries first."""


def record_changes(
    session: Session, changes: AccountChanges, *, sweep_id: int | None, as_of: dt.date
) -> None:
    """Owe a digest line for every change of one account (in the sweep's transaction)."""
    now = utcnow()
    rows = [
        {
            "sweep_id": sweep_id,
            "as_of": as_of,
            "account_id": changes.account_id,
            "csm": changes.csm,
            "section": section,
            "ref_id": entry["id"],
            "payload": {**entry, "name": changes.name},
            "created_at": now,
            "digest_id": None,
        }
        for section, entries in zip(
            SECTIONS, (changes.new_items, changes.new_gaps, changes.resolved_gaps), strict=True
        )
        for entry in entries
    ]
    if rows:
        # One multi-row INSERT in the caller's transaction (not an ORM flush per line).
        session.connection().execute(insert(DigestEntryRow), rows)


def _folder_name(csm: str | None) -> str:
    if not csm:
        return UNASSIGNED
    # An email is a fine folder name; anything that could climb out of digests/ is not.
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", csm).lstrip(".") or UNASSIGNED


def _line(entry: DigestEntryRow) -> str:
    p = entry.payload
    head = f"- **{p['name']}** ({entry.account_id}) · {p['kind']}"
    if entry.section == "item":
        flag = " · UNVERIFIED" if p.get("status") == "unverified" else ""
        return f"{head} · {p.get('outcome') or 'payback'}{flag}: {p['claim']}"
    if entry.section == "gap":
        return f"{head} ({p['severity']}) · {p.get('outcome') or 'account'}: {p['message']}"
    return f"{head} · {p.get('outcome') or 'account'}: {p['message']}"


def _section(entries: list[DigestEntryRow], now: dt.datetime) -> str:
    dates = ", ".join(sorted({e.as_of.isoformat() for e in entries}))
    lines = [f"## Sweep at {now:%Y-%m-%d %H:%M} UTC (as of {dates})", ""]
    titles = {
        "item": "New items to review",
        "gap": "New gaps",
        "resolved": "Gaps resolved since the last sweep",
    }
    for n, section in enumerate(SECTIONS):
        mine = [e for e in entries if e.section == section]
        if n:
            lines.append("")
        lines.append(f"### {titles[section]} ({len(mine)})")
        lines += [_line(e) for e in mine] or ["- none"]
    return "\n".join(lines) + "\n"


def _claim(store: Store, now: dt.datetime) -> None:
    """Store one digest per CSM over the entries no digest has reported yet."""
    with store.session() as session:
        entries = session.scalars(
            select(DigestEntryRow)
            .where(DigestEntryRow.digest_id.is_(None))
            .order_by(DigestEntryRow.account_id, DigestEntryRow.id)
        ).all()
        by_csm: dict[str | None, list[DigestEntryRow]] = defaultdict(list)
        for entry in entries:
            by_csm[entry.csm].append(entry)
        for csm, mine in sorted(by_csm.items(), key=lambda kv: kv[0] or ""):
            digest = CsmDigestRow(
                csm=csm,
                folder=_folder_name(csm),
                day=now.date(),
                text=_section(mine, now),
                created_at=now,
            )
            session.add(digest)
            session.flush()
            ids = [e.id for e in mine]
            claimed = session.execute(
                update(DigestEntryRow)
                .where(DigestEntryRow.id.in_(ids), DigestEntryRow.digest_id.is_(None))
                .values(digest_id=digest.id)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", len(ids)) != len(ids):
                raise DigestRace  # rolls the whole claim back; the caller reads again


@contextmanager
def _files_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _append(path: Path, digest: CsmDigestRow) -> None:
    marker = _MARKER.format(id=digest.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if marker in old:
        return  # written before the process died, not yet marked
    if old:
        text = old.rstrip("\n") + "\n\n"
    else:
        text = DIGEST_TITLE.format(csm=digest.csm or "accounts without a CSM") + "\n\n"
    text += f"{marker}\n{digest.text}"
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)  # a kill mid-write leaves the old file, never half of one


def _write_files(store: Store, home: Path) -> list[Path]:
    written: list[Path] = []
    with _files_lock(home / "digests"), store.session() as session:
        for digest in session.scalars(
            select(CsmDigestRow).where(CsmDigestRow.written_at.is_(None)).order_by(CsmDigestRow.id)
        ):
            path = home / "digests" / digest.folder / f"{digest.day:%Y-%m-%d}.md"
            _append(path, digest)
            digest.written_at = utcnow()
            session.flush()
            if path not in written:
                written.append(path)
    return written


def write_digests(
    store: Store, home: Path | None = None, *, now: dt.datetime | None = None
) -> list[Path]:
    """Report every change no digest has reported yet, one section per CSM; return the files.

    Also writes sections an earlier run stored but died before writing.
    """
    home = home or get_settings().home
    now = now or utcnow()
    for attempt in range(_CLAIM_TRIES):
        try:
            _claim(store, now)
            break
        except (DigestRace, OperationalError):
            # Another digest run took some entries (or SQLite's snapshot went stale): what
            # is left is read again; what it took it reports.
            if attempt == _CLAIM_TRIES - 1:
                raise
    return _write_files(store, home)
