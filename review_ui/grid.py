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
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from clerk.domain.models import GAP_KINDS
from clerk.domain.vocabulary import PENDING_STATUSES, PROVEN_STATUSES, SEVERITIES
from clerk.review.current import current_proofs
from clerk.review.shares import confirmed_outcomes, unanswered_accounts
from clerk.review.users import User
from review_ui.queries import AccountSummary, summary_of, visible_accounts

CellState = Literal["confirmed", "proven", "pending", "gap"]
ACCOUNT_COLUMN = "(account)"
# Outcomes are grouped by their value-case category, so 200 accounts with different outcome
# ids stay a handful of columns wide; rows are paged.
CATEGORY_ORDER = ("revenue", "cost", "productivity", "risk", "adoption")
PAGE_SIZE = 50


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
    category: str = ""


@dataclass
class GridRow:
    summary: AccountSummary
    cells: dict[str, Cell]
    account_gaps: list[tuple[str, str]]

    def all_gaps(self) -> list[tuple[str, str]]:
        return self.account_gaps + [g for c in self.cells.values() for g in c.gaps]

    def in_category(self, category: str) -> list[tuple[str, Cell]]:
        """The account's outcomes of one category, as (outcome id, cell)."""
        return [(o, c) for o, c in self.cells.items() if c.category == category]


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
    categories: list[str] = field(default_factory=list)
    page: int = 1
    pages: int = 1

    @property
    def page_rows(self) -> list[GridRow]:
        """The rows on this page of the grid (totals and the CSV cover every row)."""
        start = (self.page - 1) * PAGE_SIZE
        return self.rows[start : start + PAGE_SIZE]


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


def manager_page(
    session: Session, user: User, filters: GridFilters, *, page: int = 1
) -> ManagerPage:
    """The grid over every visible account's current proof (clerk.review.current)."""
    accounts = visible_accounts(session, user)
    ids = None if user.sees_all_accounts else [a.id for a in accounts]
    proofs = current_proofs(session, ids)
    far = dt.date.max
    visible = {
        s.id: s
        for s in sorted(
            (summary_of(a, proofs[a.id]) for a in accounts if a.id in proofs),
            key=lambda s: (s.renewal or far, s.name),
        )
    }
    titles: dict[str, set[str]] = defaultdict(set)
    categories: dict[str, str] = {}
    confirmed_in: dict[str, set[str]] = defaultdict(set)
    for account_id, outcome_id in confirmed_outcomes(session, PROVEN_STATUSES):
        confirmed_in[account_id].add(outcome_id)
    rows = []
    for summary in visible.values():
        proof = proofs.get(summary.id)
        if proof is None:
            continue
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for item in proof.items:
            if item.outcome_id is not None:
                counts[item.outcome_id][item.status] += 1
        gaps: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for gap in sorted(proof.open_gaps, key=lambda g: (g.severity, g.kind)):
            gaps[gap.outcome_id or ACCOUNT_COLUMN].append((gap.kind, gap.severity))
        cells = {}
        confirmed = confirmed_in.get(summary.id, set())
        for outcome in proof.outcomes:
            titles[outcome.id].add(outcome.title)
            categories.setdefault(outcome.id, outcome.category)
            c = counts.get(outcome.id, {})
            proven = sum(c.get(s, 0) for s in PROVEN_STATUSES)
            pending = sum(c.get(s, 0) for s in PENDING_STATUSES)
            state: CellState = "proven" if proven else "pending" if pending else "gap"
            if proven and outcome.id in confirmed:
                state = "confirmed"
            cells[outcome.id] = Cell(
                state,
                pending,
                proven,
                gaps.get(outcome.id, []),
                title=outcome.title,
                category=outcome.category,
            )
        rows.append(GridRow(summary, cells, gaps.get(ACCOUNT_COLUMN, [])))

    csms = sorted({s.csm for s in visible.values() if s.csm})
    unanswered = None
    if filters.unanswered_days is not None:
        unanswered = unanswered_accounts(session, filters.unanswered_days)
    rows = [r for r in rows if _keep(r, filters, unanswered)]
    totals, by_csm = Totals(), defaultdict[str, Totals](Totals)
    for r in rows:
        _add(totals, r)
        _add(by_csm[r.summary.csm or "(no owner)"], r)
    used = {o for r in rows for o in r.cells}
    # One account's title never heads another account's outcome: ids that carry different
    # titles in different accounts are headed by the id (each cell names its own title).
    columns = [(o, next(iter(t)) if len(t) == 1 else o) for o, t in titles.items() if o in used]
    groups = [c for c in CATEGORY_ORDER if any(categories.get(o) == c for o in used)]
    groups += sorted({categories[o] for o in used} - set(groups))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return ManagerPage(
        filters,
        columns,
        rows,
        totals,
        dict(sorted(by_csm.items())),
        csms,
        categories=groups,
        page=page,
        pages=pages,
    )


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
