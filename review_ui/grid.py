"""The manager's view: accounts x outcomes (proven / pending / gap), filters, totals, CSV.

A proven cell whose approved item the customer confirmed from a share link is *confirmed*
("customer confirmed", counted as proven as well); the ``unanswered_days`` filter keeps the
accounts whose newest share link has had no answer for that many days (issue 16).

A cell is *proven* when the outcome has approved or edited proof, *pending* when drafts wait
for review, and *gap* otherwise: nothing a CSM could hand the customer today. Open gap flags
are listed in the cell whatever its state, since an approved number can still under-deliver.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clerk.domain.models import GAP_KINDS
from clerk.domain.vocabulary import OPEN_GAP_STATUSES, PENDING_STATUSES, PROVEN_STATUSES, SEVERITIES
from clerk.review.shares import confirmed_outcomes, unanswered_accounts
from clerk.review.users import User
from clerk.store.tables import GapFlagRow, OutcomeRow, ProofItemRow
from review_ui.queries import AccountSummary, account_summaries

CellState = Literal["confirmed", "proven", "pending", "gap"]
ACCOUNT_COLUMN = "(account)"


@dataclass
class GridFilters:
    csm: str | None = None
    renewal_within: int | None = None
    gap_kind: str | None = None
    severity: str | None = None
    stale_pending: bool = False
    unanswered_days: int | None = None  # shared with the customer, no answer for N days

    def active(self) -> bool:
        return any(
            [
                self.csm,
                self.renewal_within is not None,
                self.gap_kind,
                self.severity,
                self.stale_pending,
                self.unanswered_days is not None,
            ]
        )


@dataclass
class Cell:
    state: CellState
    pending: int = 0
    proven: int = 0
    gaps: list[tuple[str, str]] = field(default_factory=list)  # (kind, severity)
    title: str = ""  # this account's title of the outcome (ids repeat across accounts)


@dataclass
class GridRow:
    summary: AccountSummary
    cells: dict[str, Cell]
    account_gaps: list[tuple[str, str]]

    def all_gaps(self) -> list[tuple[str, str]]:
        return self.account_gaps + [g for c in self.cells.values() for g in c.gaps]


@dataclass
class Totals:
    accounts: int = 0
    outcomes: int = 0
    proven: int = 0  # includes the customer-confirmed cells
    confirmed: int = 0
    pending: int = 0
    gap: int = 0
    items_pending: int = 0
    items_pending_stale: int = 0
    open_gaps: int = 0
    high_gaps: int = 0

    @property
    def coverage(self) -> float | None:
        return self.proven / self.outcomes if self.outcomes else None


@dataclass
class ManagerPage:
    filters: GridFilters
    columns: list[tuple[str, str]]
    rows: list[GridRow]
    totals: Totals
    by_csm: dict[str, Totals]
    csms: list[str]
    gap_kinds: tuple[str, ...] = GAP_KINDS
    severities: tuple[str, ...] = SEVERITIES


def _keep(row: GridRow, f: GridFilters, unanswered: set[str] | None = None) -> bool:
    s = row.summary
    if unanswered is not None and s.id not in unanswered:
        return False
    if f.csm and (s.csm or "") != f.csm:
        return False
    if f.renewal_within is not None:
        days = s.days_to_renewal
        if days is None or days > f.renewal_within:
            return False
    gaps = row.all_gaps()
    if f.gap_kind and not any(kind == f.gap_kind for kind, _ in gaps):
        return False
    if f.severity and not any(sev == f.severity for _, sev in gaps):
        return False
    return not (f.stale_pending and s.pending_stale == 0)


def _add(totals: Totals, row: GridRow) -> None:
    totals.accounts += 1
    for cell in row.cells.values():
        totals.outcomes += 1
        if cell.state == "confirmed":
            totals.proven += 1
        setattr(totals, cell.state, getattr(totals, cell.state) + 1)
    totals.items_pending += row.summary.pending
    totals.items_pending_stale += row.summary.pending_stale
    gaps = row.all_gaps()
    totals.open_gaps += len(gaps)
    totals.high_gaps += sum(1 for _, sev in gaps if sev == "high")


def manager_page(session: Session, user: User, filters: GridFilters) -> ManagerPage:
    summaries = account_summaries(session, user)
    titles: dict[str, set[str]] = defaultdict(set)
    outcome_titles: dict[tuple[str, str], str] = {}
    order: dict[str, None] = {}  # outcome ids by position, as the columns go
    outcomes: dict[str, list[str]] = defaultdict(list)
    for account_id, outcome_id, title in session.execute(
        select(OutcomeRow.account_id, OutcomeRow.id, OutcomeRow.title).order_by(
            OutcomeRow.position, OutcomeRow.id
        )
    ):
        outcome_titles[(account_id, outcome_id)] = title
        outcomes[account_id].append(outcome_id)
        order.setdefault(outcome_id, None)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for account_id, item_outcome, status, count in session.execute(
        select(ProofItemRow.account_id, ProofItemRow.outcome_id, ProofItemRow.status, func.count())
        .where(ProofItemRow.outcome_id.is_not(None))
        .group_by(ProofItemRow.account_id, ProofItemRow.outcome_id, ProofItemRow.status)
    ):
        counts[(account_id, item_outcome or "")][status] += count
    gaps: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for account_id, gap_outcome, kind, severity in session.execute(
        select(GapFlagRow.account_id, GapFlagRow.outcome_id, GapFlagRow.kind, GapFlagRow.severity)
        .where(GapFlagRow.status.in_(OPEN_GAP_STATUSES))
        .order_by(GapFlagRow.severity, GapFlagRow.kind)
    ):
        gaps[(account_id, gap_outcome or ACCOUNT_COLUMN)].append((kind, severity))

    confirmed = confirmed_outcomes(session, PROVEN_STATUSES)
    rows = []
    for summary in summaries:
        cells = {}
        for outcome_id in outcomes.get(summary.id, []):
            c = counts.get((summary.id, outcome_id), {})
            proven = sum(c.get(s, 0) for s in PROVEN_STATUSES)
            pending = sum(c.get(s, 0) for s in PENDING_STATUSES)
            state: CellState = "proven" if proven else "pending" if pending else "gap"
            if proven and (summary.id, outcome_id) in confirmed:
                state = "confirmed"
            title = outcome_titles.get((summary.id, outcome_id), outcome_id)
            cells[outcome_id] = Cell(
                state, pending, proven, gaps.get((summary.id, outcome_id), []), title
            )
        rows.append(GridRow(summary, cells, gaps.get((summary.id, ACCOUNT_COLUMN), [])))

    csms = sorted({s.csm for s in summaries if s.csm})
    unanswered = None
    if filters.unanswered_days is not None:
        unanswered = unanswered_accounts(session, filters.unanswered_days)
    rows = [r for r in rows if _keep(r, filters, unanswered)]
    totals, by_csm = Totals(), defaultdict[str, Totals](Totals)
    for r in rows:
        _add(totals, r)
        _add(by_csm[r.summary.csm or "(no owner)"], r)
    for r in rows:
        for outcome_id, cell in r.cells.items():
            titles[outcome_id].add(cell.title)
    # One account's title never heads another account's outcome: ids that carry different
    # titles in different accounts are headed by the id (each cell names its own title).
    columns = [
        (o, next(iter(titles[o])) if len(titles[o]) == 1 else o) for o in order if o in titles
    ]
    return ManagerPage(filters, columns, rows, totals, dict(sorted(by_csm.items())), csms)


def grid_csv(page: ManagerPage) -> str:
    """One line per account and outcome (plus one per account-level gap) for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "account_id",
            "account",
            "csm",
            "renewal",
            "outcome_id",
            "outcome",
            "state",
            "pending_items",
            "open_gaps",
        ]
    )
    for row in page.rows:
        s = row.summary
        base = [s.id, s.name, s.csm or "", s.renewal.isoformat() if s.renewal else ""]
        for outcome_id, cell in row.cells.items():
            kinds = ";".join(f"{k}({sev})" for k, sev in cell.gaps)
            writer.writerow(
                _cells(base + [outcome_id, cell.title, cell.state, cell.pending, kinds])
            )
        if row.account_gaps:
            kinds = ";".join(f"{k}({sev})" for k, sev in row.account_gaps)
            writer.writerow(_cells(base + [ACCOUNT_COLUMN, "Whole account", "gap", "", kinds]))
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(values: Sequence[object]) -> list[object]:
    """Text cells a spreadsheet would run as a formula (=, +, -, @ first) get a leading
    apostrophe, which spreadsheets show as text (OWASP's CSV injection advice)."""
    return ["'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in values]
