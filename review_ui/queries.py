"""Read models for the pages and the API: one context object per page, built in few queries.

Counts are computed with GROUP BY in SQL, never by loading every row, so the home page and
the manager grid stay fast with thousands of items. The account page loads only its
account's rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from clerk.domain.models import Account, GapFlag, Outcome, ProofItem, Review, Source
from clerk.domain.vocabulary import (
    DECIDED_STATUSES,
    OPEN_GAP_STATUSES,
    PENDING_STATUSES,
    severity_rank,
)
from clerk.review.current import (
    CurrentProof,
    PeriodOption,
    current_proof,
    current_proofs,
    period_options,
)
from clerk.review.decisions import (
    REJECT_REASONS,
    NotFound,
    audit_trail,
    check_account,
    draft_item,
    effective_item,
    load_sources,
)
from clerk.review.shares import ItemResponse, item_responses
from clerk.review.users import User
from clerk.settings import get_settings
from clerk.store.db import read_rows
from clerk.store.rows import account_from_row, gap_from_row, outcome_from_row
from clerk.store.tables import (
    AccountRow,
    GapFlagRow,
    OutcomeRow,
    ProofItemRow,
    SourceRow,
    utcnow,
)
from review_ui.cards import CardCache, card_key

# Characters of source text shown either side of a quote; long tickets stay readable.
CONTEXT_CHARS = 600


@dataclass
class AccountSummary:
    id: str
    name: str
    csm: str | None
    renewal: dt.date | None
    pending: int = 0
    pending_stale: int = 0
    open_gaps: int = 0
    outcomes: int = 0
    proven: int = 0
    as_of: dt.date | None = None
    decided: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of the account's outcomes with approved (or edited) proof."""
        return self.proven / self.outcomes if self.outcomes else None

    @property
    def days_to_renewal(self) -> int | None:
        return (self.renewal - utcnow().date()).days if self.renewal else None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "csm": self.csm,
            "renewal": self.renewal.isoformat() if self.renewal else None,
            "pending": self.pending,
            "pending_over_7_days": self.pending_stale,
            "open_gaps": self.open_gaps,
            "outcomes": self.outcomes,
            "proven_outcomes": self.proven,
            "coverage": self.coverage,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }


def visible_accounts(session: Session, user: User, only: str | None = None) -> list[AccountRow]:
    query = select(AccountRow)
    if not user.sees_all_accounts:
        query = query.where(AccountRow.csm == user.email)
    if only is not None:
        query = query.where(AccountRow.id == only)
    return list(session.scalars(query))


def summary_of(row: AccountRow, proof: CurrentProof) -> AccountSummary:
    """Counts of one account's current proof (clerk.review.current: the one definition)."""
    stale_before = utcnow() - dt.timedelta(days=get_settings().stale_pending_days)
    pending = proof.pending
    return AccountSummary(
        id=row.id,
        name=row.name,
        csm=row.csm,
        renewal=row.renewal,
        pending=len(pending),
        pending_stale=sum(
            1 for r in pending if r.created_at is not None and r.created_at < stale_before
        ),
        open_gaps=len(proof.open_gaps),
        outcomes=len(proof.outcomes),
        proven=len(proof.proven_outcomes),
        as_of=proof.as_of,
        decided=sum(1 for r in proof.items if r.status in DECIDED_STATUSES),
    )


def account_summaries(
    session: Session, user: User, *, only: str | None = None, as_of: dt.date | None = None
) -> list[AccountSummary]:
    """The accounts ``user`` may see (or just ``only``), counted over each account's current
    proof (at ``as_of``, else its newest sweep), soonest renewal first."""
    accounts = visible_accounts(session, user, only)
    if not accounts:
        return []
    # A manager's home page covers every account anyway: no long IN list then.
    narrow = only is not None or not user.sees_all_accounts
    proofs = current_proofs(session, [a.id for a in accounts] if narrow else None, as_of=as_of)
    summaries = [summary_of(a, proofs[a.id]) for a in accounts if a.id in proofs]
    far = dt.date.max
    return sorted(summaries, key=lambda s: (s.renewal or far, s.name))


# --- the account page ------------------------------------------------------------------


@dataclass
class EvidencePane:
    """A quote inside its source: the text before, the quote, the text after (escaped by
    the template, so ticket text can never inject markup)."""

    source_id: str
    title: str
    kind: str
    date: dt.datetime | None
    before: str
    quote: str
    after: str
    customer_words: bool
    found: bool
    clipped_before: bool = False
    clipped_after: bool = False


@dataclass
class QueueEntry:
    item: ProofItem
    draft: ProofItem | None  # the draft, when the item was edited
    outcome_title: str
    evidence: list[EvidencePane]
    audit: list[Review]
    age_days: int
    reject_reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    customer: ItemResponse | None = None  # the customer's latest answer from a share link
    # The card's fingerprint (review_ui.cards) and, when a worker already rendered a card with
    # that fingerprint, its HTML (``evidence`` is then left empty: the card holds it).
    card_key: bytes | None = None
    card: bytes | None = None

    @property
    def can_approve(self) -> bool:
        return self.item.status == "pending"

    @property
    def is_pending(self) -> bool:
        return self.item.status in PENDING_STATUSES


@dataclass
class GapEntry:
    gap: GapFlag
    outcome_title: str
    audit: list[Review]
    dismiss_reason: str | None = None

    @property
    def overdue_days(self) -> int:
        """Days an open flag is past its due date (0: not due yet, closed or no date)."""
        due = self.gap.due_date
        if due is None or self.gap.status not in OPEN_GAP_STATUSES:
            return 0
        return max(0, (utcnow().date() - due).days)


@dataclass
class AccountPage:
    account: Account
    summary: AccountSummary
    outcomes: list[Outcome]
    queue: list[QueueEntry]
    decided: list[QueueEntry]
    gaps: list[GapEntry]
    closed_gaps: list[GapEntry]
    reject_reasons: dict[str, str] = field(default_factory=lambda: dict(REJECT_REASONS))
    as_of: dt.date | None = None
    periods: list[PeriodOption] = field(default_factory=list)
    selected: PeriodOption | None = None
    outcome: Outcome | None = None  # the page shows this outcome only
    # The queue is paginated: ``queue`` holds page ``page_number`` of ``queue_total`` items.
    queue_total: int = 0
    page_number: int = 1
    page_size: int = 0  # 0: not paginated (partials showing one item)

    @property
    def page_count(self) -> int:
        if not self.page_size:
            return 1
        return max(1, -(-self.queue_total // self.page_size))

    def only_outcome(self, outcome_id: str | None) -> AccountPage:
        """The page narrowed to one outcome's items and gap flags (unknown ids: all)."""
        chosen = next((o for o in self.outcomes if o.id == outcome_id), None)
        if chosen is None:
            return self

        def mine(entries: list[Any]) -> list[Any]:
            return [e for e in entries if (getattr(e, "item", None) or e.gap).outcome == chosen.id]

        return replace(
            self,
            queue=mine(self.queue),
            queue_total=len(mine(self.queue)) if not self.page_size else self.queue_total,
            decided=mine(self.decided),
            gaps=mine(self.gaps),
            closed_gaps=mine(self.closed_gaps),
            outcome=chosen,
        )


def account_outcomes(session: Session, account_id: str) -> list[Outcome]:
    rows = session.scalars(
        select(OutcomeRow).where(OutcomeRow.account_id == account_id).order_by(OutcomeRow.position)
    )
    return [outcome_from_row(r) for r in rows]


def evidence_panes(item: ProofItem, sources: dict[str, Source]) -> list[EvidencePane]:
    panes = []
    for c in item.citations:
        source = sources.get(c.source)
        if source is None:
            panes.append(
                EvidencePane(
                    c.source, c.source, "missing", None, "", c.quote, "", False, found=False
                )
            )
            continue
        text = source.text
        found = text[c.start : c.end] == c.quote
        start, end = (c.start, c.end) if found else (0, 0)
        # A note's front matter is metadata, not evidence: start the context at its body.
        body_start = source.meta.get("body_start") if source.kind == "note" else None
        floor = body_start if isinstance(body_start, int) and body_start <= start else 0
        lo, hi = max(floor, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
        panes.append(
            EvidencePane(
                source_id=source.id,
                title=source.title or source.id,
                kind=source.kind,
                date=source.date,
                before=text[lo:start] if found else text[: CONTEXT_CHARS * 2],
                quote=c.quote if found else "",
                after=text[end:hi] if found else "",
                customer_words=found and source.is_customer_text(c.start, c.end),
                found=found,
                clipped_before=lo > floor,
                clipped_after=hi < len(text) if found else len(text) > CONTEXT_CHARS * 2,
            )
        )
    return panes


def queue_entries(
    session: Session,
    rows: list[ProofItemRow],
    titles: dict[str, str],
    trail: dict[str, list[Review]] | None = None,
    cards: CardCache | None = None,
) -> list[QueueEntry]:
    """Items with their evidence and audit trail: sources in one query, the audit in one
    (or none, when the caller already loaded ``trail``).

    With ``cards``, each entry gets its card fingerprint; an entry whose card ``cards``
    already holds gets that card, and its sources' text is not read at all (only their
    content hashes, which the fingerprint covers)."""
    items = [(r, effective_item(r)) for r in rows]
    if trail is None:
        trail = audit_trail(session, [r.id for r in rows])
    answers = item_responses(session, [r.id for r in rows])
    now = utcnow()
    entries = [
        QueueEntry(
            item=item,
            draft=draft_item(r) if r.edited else None,
            outcome_title=titles.get(
                item.outcome or "", "Payback" if item.kind == "payback" else item.outcome or ""
            ),
            evidence=[],
            audit=trail.get(r.id, []),
            age_days=max(0, (now - r.created_at).days) if r.created_at else 0,
            reject_reason=r.reject_reason,
            reviewed_by=r.reviewed_by,
            reviewed_at=r.reviewed_at,
            customer=answers.get(r.id),
        )
        for r, item in items
    ]
    cited = {c.source for _, it in items for c in it.citations}
    sources: dict[str, Source] | None = None
    if cards is not None:
        if cards.holds_any(r.id for r in rows):
            hashes = source_hashes(session, cited)
        else:  # every card is rendered here: the texts are needed, their hashes come along
            hashes = {}
            sources = load_sources(session, cited, hashes)
        for entry, (r, _) in zip(entries, items, strict=True):
            entry.card_key = _card_key(entry, r, hashes)
            entry.card = cards.get(entry.card_key)
        cited = {c.source for e in entries if e.card is None for c in e.item.citations}
    if sources is None:
        sources = load_sources(session, cited)
    for entry in entries:
        if entry.card is None:
            entry.evidence = evidence_panes(entry.item, sources)
    return entries


_SOURCE_HASHES = select(SourceRow.id, SourceRow.content_hash).where(
    SourceRow.id.in_(bindparam("ids", expanding=True))
)
# The account's closed gap flags (current_proof reads the open ones only), as plain rows
# with the columns of a GapFlagRow: they are only read.
_CLOSED_GAPS = select(*GapFlagRow.__table__.c).where(
    GapFlagRow.account_id == bindparam("account_id"),
    GapFlagRow.status.not_in(bindparam("open", expanding=True)),
)


def source_hashes(session: Session, source_ids: set[str]) -> dict[str, str]:
    """The content hash of each source (covers everything a reader sees of it)."""
    if not source_ids:
        return {}
    rows = read_rows(session, _SOURCE_HASHES, {"ids": sorted(source_ids)})
    return {sid: digest for sid, digest in rows}


def _card_key(entry: QueueEntry, row: ProofItemRow, hashes: dict[str, str]) -> bytes:
    """Everything the card of ``entry`` shows, as read by this request."""
    customer = entry.customer
    return card_key(
        row.id,
        row.account_id,
        row.version,
        row.status,
        row.payload,
        row.edited,
        entry.outcome_title,
        entry.age_days,
        entry.reject_reason,
        entry.reviewed_by,
        entry.reviewed_at,
        [a.model_dump(mode="json") for a in entry.audit],
        None if customer is None else list(vars(customer).values()),
        [(c.source, hashes.get(c.source)) for c in entry.item.citations],
        dict(REJECT_REASONS),
    )


def _item_order(titles: list[str]) -> Any:
    position = {t: i for i, t in enumerate(titles)}
    return lambda r: (position.get(r.outcome_id or "", len(position)), r.kind, r.id)


# Items per page of the review queue: an account with 1,000 pending drafts renders one page
# (cards, evidence panes and audit trails of these only) instead of all of them.
QUEUE_PAGE_SIZE = 50


def account_page(
    session: Session,
    account_id: str,
    user: User,
    *,
    as_of: dt.date | None = None,
    outcome: str | None = None,
    page: int = 1,
    page_size: int = QUEUE_PAGE_SIZE,
    cards: CardCache | None = None,
) -> AccountPage:
    """Everything the account page shows at ``as_of`` (default: the newest sweep); raises
    NotFound/Forbidden like the decisions do. The queue holds page ``page`` (from 1; past the
    last page: the last) of the pending items, narrowed to ``outcome`` when it names one;
    ``page_size=0`` puts every pending item in the queue. ``cards``: the worker's rendered
    cards, for the HTML page (see :func:`queue_entries`)."""
    row = check_account(session, account_id, user)
    # reads ``row`` from the session; items and gap flags as plain rows (only read here)
    proof = current_proof(session, account_id, as_of, plain=True)
    # current_proof read the outcome rows already (value-case order, as account_outcomes).
    outcomes = list(proof.value_case.outcomes)
    titles = {o.id: o.title for o in outcomes}
    rows = list(proof.items)
    rows.sort(key=_item_order([o.id for o in outcomes]))
    pending = [r for r in rows if r.status in PENDING_STATUSES]
    decided = [r for r in rows if r.status in DECIDED_STATUSES]
    if outcome in titles:
        pending = [r for r in pending if r.outcome_id == outcome]
    total = len(pending)
    if page_size > 0:  # 0: every pending item (the API)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        pending = pending[(page - 1) * page_size : page * page_size]
    else:
        page = 1
    rows = pending + decided
    current_ids = {g.id for g in proof.gaps}
    closed = read_rows(
        session, _CLOSED_GAPS, {"account_id": account_id, "open": sorted(OPEN_GAP_STATUSES)}
    )
    gap_rows: list[Any] = list(proof.gaps) + [g for g in closed if g.id not in current_ids]
    gap_rows.sort(key=lambda g: (severity_rank(g.severity), g.kind, g.id))
    # one audit query for the whole page: items and gap flags
    trail = audit_trail(session, [r.id for r in rows] + [g.id for g in gap_rows])
    gaps = [
        GapEntry(
            gap=gap_from_row(g),
            outcome_title=titles.get(g.outcome_id or "", "Whole account"),
            audit=trail.get(g.id, []),
            dismiss_reason=g.dismiss_reason,
        )
        for g in gap_rows
    ]
    entries = {
        e.item.id: e for e in queue_entries(session, pending + decided, titles, trail, cards)
    }
    options = period_options(session, account_id)
    return AccountPage(
        account=account_from_row(row),
        summary=summary_of(row, proof),
        outcomes=outcomes,
        queue=[entries[r.id] for r in pending],
        decided=[entries[r.id] for r in decided],
        gaps=[g for g in gaps if g.gap.id in current_ids and g.gap.status in OPEN_GAP_STATUSES],
        closed_gaps=[g for g in gaps if g.gap.status not in OPEN_GAP_STATUSES],
        as_of=proof.as_of,
        periods=options,
        selected=_selected(options, proof.as_of),
        queue_total=total,
        page_number=page,
        page_size=page_size,
    ).only_outcome(outcome)


def _selected(options: list[PeriodOption], as_of: dt.date | None) -> PeriodOption | None:
    """The option whose period the page reports on: the newest one ending on or before it."""
    if as_of is None:
        return None
    return next((o for o in options if o.end <= as_of), None)


def item_entry(session: Session, item_id: str, user: User) -> tuple[QueueEntry, AccountPage]:
    """One item's card (for htmx partials); the page gives the reject reasons and outcomes."""
    row = session.get(ProofItemRow, item_id)
    if row is None:
        raise NotFound(f"No proof item {item_id!r}.")
    account = check_account(session, row.account_id, user)
    outcomes = account_outcomes(session, row.account_id)
    titles = {o.id: o.title for o in outcomes}
    entry = queue_entries(session, [row], titles)[0]
    summary = AccountSummary(
        id=account.id, name=account.name, csm=account.csm, renewal=account.renewal
    )
    page = AccountPage(account_from_row(account), summary, outcomes, [entry], [], [], [])
    return entry, page


def gap_entry(session: Session, gap_id: str, user: User) -> GapEntry:
    row = session.get(GapFlagRow, gap_id)
    if row is None:
        raise NotFound(f"No gap flag {gap_id!r}.")
    check_account(session, row.account_id, user)
    titles = {o.id: o.title for o in account_outcomes(session, row.account_id)}
    return GapEntry(
        gap=gap_from_row(row),
        outcome_title=titles.get(row.outcome_id or "", "Whole account"),
        audit=audit_trail(session, [row.id]).get(row.id, []),
        dismiss_reason=row.dismiss_reason,
    )
