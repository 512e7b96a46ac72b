"""CSM digests: one Markdown file per CSM and run date, sections appended per sweep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from clerk.store import Store
from clerk.sweep.csm_digests import UNASSIGNED, AccountChanges, record_changes, write_digests

NOW = dt.datetime(2026, 7, 6, 6, 0)


def _record(store: Store, *changes: AccountChanges) -> None:
    with store.session() as session:
        for change in changes:
            record_changes(session, change, sweep_id=1, as_of=dt.date(2026, 7, 1))


def test_digests_group_by_csm_and_skip_quiet_accounts(store: Store, tmp_path: Path) -> None:
    item = {"id": "pi_1", "outcome": "hours_saved", "kind": "calculation",
            "claim": "1,320 hours saved.", "status": "pending"}  # fmt: skip
    gap = {"id": "gf_1", "outcome": None, "kind": "no_owner", "message": "No CSM.",
           "severity": "high"}  # fmt: skip
    resolved = {"id": "gf_2", "outcome": "x", "kind": "under_delivery", "message": "Short.",
                "severity": "medium"}  # fmt: skip
    changes = (
        AccountChanges("a", "Acme", "dana@vendor.example", new_items=[item],
                       resolved_gaps=[resolved]),
        AccountChanges("b", "Beta", None, new_gaps=[gap]),
        AccountChanges("c", "Quiet", "sam@vendor.example"),
    )  # fmt: skip
    _record(store, *changes)
    paths = write_digests(store, tmp_path, now=NOW)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        f"digests/{UNASSIGNED}/2026-07-06.md",
        "digests/dana@vendor.example/2026-07-06.md",
    ]
    dana = (tmp_path / "digests" / "dana@vendor.example" / "2026-07-06.md").read_text()
    assert "## Sweep at 2026-07-06 06:00 UTC (as of 2026-07-01)" in dana
    assert "### New items to review (1)" in dana and "1,320 hours saved." in dana
    assert "### New gaps (0)" in dana
    assert "### Gaps resolved since the last sweep (1)" in dana and "Short." in dana
    unassigned = (tmp_path / "digests" / UNASSIGNED / "2026-07-06.md").read_text()
    assert "no_owner (high) · account: No CSM." in unassigned

    # Reported lines are not reported again: with nothing new, no digest.
    assert write_digests(store, tmp_path, now=NOW + dt.timedelta(hours=1)) == []
    # A second sweep the same day appends its own section.
    _record(store, changes[0])
    write_digests(store, tmp_path, now=NOW + dt.timedelta(hours=2))
    dana = (tmp_path / "digests" / "dana@vendor.example" / "2026-07-06.md").read_text()
    assert dana.count("## Sweep at") == 2 and dana.count("# Evidence Clerk digest") == 1
    assert dana.count("1,320 hours saved.") == 2


def test_a_csm_name_cannot_escape_the_digest_folder(store: Store, tmp_path: Path) -> None:
    change = AccountChanges(
        "a",
        "Acme",
        "../../etc/passwd",
        new_gaps=[
            {"id": "g", "outcome": None, "kind": "no_owner", "message": "m", "severity": "high"}
        ],
    )
    _record(store, change)
    (path,) = write_digests(store, tmp_path, now=NOW)
    assert path.resolve().is_relative_to((tmp_path / "digests").resolve())
