"""One account's sweep, step by step: load, evaluate, gather the customer's words, and turn
computed outcomes and drafts into verified proof items, gap flags and considered slots.

clerk.sweep.run orchestrates these per account (fingerprints, concurrency, transactions); the
functions here hold what an account's drafts are made of.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from clerk.domain.ids import evidence_key, item_id, parse_source_id, ticket_source_id
from clerk.domain.models import (
    Account,
    Citation,
    Evidence,
    GapFlag,
    Outcome,
    Period,
    ProofItem,
    SignalDraft,
    Source,
    Span,
    ValueCase,
)
from clerk.drafting.base import DraftRequest, DraftResult
from clerk.engine.calculations import (
    FEW_EVENTS,
    OutcomeResult,
    PaybackResult,
    attainment,
    calculation_item,
    evaluate_payback,
    evaluate_value_case,
    payback_item,
)
from clerk.engine.gaps import OutcomeEvidence, SharedPacket, Thresholds, raise_gaps
from clerk.engine.metrics import MetricQuery, MetricValue, aggregate
from clerk.engine.verify import statement_reading, verify_citation, verify_item
from clerk.store import Store
from clerk.store.rows import stored_value_case
from clerk.store.tables import AccountRow, ShareLinkRow, ShareResponseRow, SourceRow
from clerk.sweep.drafts import Slot
from clerk.sweep.screen import screen_calculation, screen_statement
from clerk.sweep.stages import StageTimes, timed

if TYPE_CHECKING:
    from retrievers import HybridIndex

log = logging.getLogger(__name__)
# The drafter note when search fails and the drafter gets the evidence unranked.
SEARCH_FAILED_NOTE = "search failed, so the drafter got the evidence unranked"


@dataclass
class Prepared:
    """An account loaded and computed, ready for the drafter."""

    account: Account
    value_case: ValueCase
    fingerprint: str
    results: dict[str, OutcomeResult]
    payback: PaybackResult | None
    sources: dict[str, Source]
    evidence: list[Evidence]
    shares: list[SharedPacket] = field(default_factory=list)


def shared_packets(session: Session, account_id: str) -> list[SharedPacket]:
    """The account's share links that were not revoked, with the day of their first answer."""
    first = (
        select(ShareResponseRow.share_id, func.min(ShareResponseRow.at).label("first"))
        .group_by(ShareResponseRow.share_id)
        .subquery()
    )
    rows = session.execute(
        select(ShareLinkRow.version, ShareLinkRow.created_at, first.c.first)
        .outerjoin(first, first.c.share_id == ShareLinkRow.id)
        .where(ShareLinkRow.account_id == account_id, ShareLinkRow.revoked_at.is_(None))
    )
    return [
        SharedPacket(version, created.date(), answered.date() if answered else None)
        for version, created, answered in rows
    ]


def share_states(session: Session) -> dict[str, str]:
    """Per account, what its share links and answers are now (part of the sweep fingerprint,
    so a new link, a revocation or a first answer makes the next sweep look again)."""
    state: dict[str, list[Any]] = {}
    for account_id, links, revoked, newest in session.execute(
        select(
            ShareLinkRow.account_id,
            func.count(),
            func.count(ShareLinkRow.revoked_at),
            func.max(ShareLinkRow.created_at),
        ).group_by(ShareLinkRow.account_id)
    ):
        state[account_id] = [links, revoked, str(newest)]
    for account_id, answers in session.execute(
        select(ShareResponseRow.account_id, func.count()).group_by(ShareResponseRow.account_id)
    ):
        state.setdefault(account_id, []).append(answers)
    return {a: ",".join(map(str, v)) for a, v in state.items()}


# Built once, the account and the day after as-of bound as parameters.
_SOURCES_OF = select(SourceRow).where(
    SourceRow.account_id == bindparam("account_id"),
    SourceRow.kind != "usage_digest",
    SourceRow.date < bindparam("until"),
)


def load_sources(session: Session, account_id: str, as_of: dt.date) -> dict[str, Source]:
    """Every ticket, comment and note of the account dated up to and including as-of."""
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    rows = session.scalars(_SOURCES_OF, {"account_id": account_id, "until": until})
    return {
        r.id: Source(
            id=r.id,
            account_id=r.account_id,
            kind=r.kind,
            title=r.title or "",
            text=r.text,
            date=r.date,
            author=r.author,
            public=r.public,
            customer_spans=[Span.model_validate(s) for s in r.customer_spans or []],
            meta=r.meta or {},
        )
        for r in rows
    }


def customer_evidence(sources: dict[str, Source]) -> list[Evidence]:
    """Every customer span of every source as a passage, newest first.

    This is the recall guarantee: the drafter sees all of the customer's words, whatever a
    top-k search would have ranked; there are only a handful per account.
    """
    out = [
        Evidence(
            source_id=s.id,
            kind=s.kind,
            text=s.text[span.start : span.end],
            start=span.start,
            end=span.end,
            date=s.date,
            customer=True,
        )
        for s in sources.values()
        for span in s.customer_spans
        if span.end > span.start
    ]
    out.sort(key=lambda e: (e.date, e.source_id, e.start), reverse=True)
    return out


def ranked(
    store: Store,
    account: Account,
    outcome: Outcome,
    as_of: dt.date,
    base: list[Evidence],
    index: HybridIndex | None,
    notes: list[str] | None = None,
) -> list[Evidence]:
    """Search hits for the outcome first, then every other customer passage (full recall).

    When search fails (no index built yet, the Chroma server down) the sweep goes on with
    ``base`` unranked: the traceback goes to the log and a note to ``notes``, which the sweep
    shows with the drafter's notes.
    """
    from clerk import retrieval as indexing

    query = " ".join([outcome.title, *(i.metric or i.name for i in outcome.inputs)])
    try:
        hits = indexing.search(
            store,
            account.id,
            query,
            customer=True,
            until=as_of + dt.timedelta(days=1),
            k=20,
            index=index,
        )
    except Exception as exc:  # noqa: BLE001 - an unbuilt index must not stop the sweep
        log.warning("%s/%s: %s", account.id, outcome.id, SEARCH_FAILED_NOTE, exc_info=True)
        if notes is not None:
            notes.append(f"{SEARCH_FAILED_NOTE} ({type(exc).__name__}: {exc})")
        return base
    seen = {(h.source_id, h.start, h.end) for h in hits}
    return list(hits) + [e for e in base if (e.source_id, e.start, e.end) not in seen]


def prepare(
    session: Session,
    account_id: str,
    as_of: dt.date,
    *,
    few_events: int = FEW_EVENTS,
    times: StageTimes | None = None,
    has_shares: bool = True,
) -> Prepared:
    """Load an account, evaluate its outcomes in SQL and gather its customer evidence.

    ``has_shares=False``: the caller knows (``share_states``) the account has no share link,
    so its links are not queried."""
    with timed(times, "metrics"):
        return _prepare(session, account_id, as_of, few_events, times, has_shares)


def _prepare(
    session: Session,
    account_id: str,
    as_of: dt.date,
    few_events: int,
    times: StageTimes | None,
    has_shares: bool = True,
) -> Prepared:
    row = session.get(AccountRow, account_id)
    if row is None:
        raise LookupError(f"unknown account {account_id!r}")
    account = Account.model_validate(row.data)
    value_case = stored_value_case(session, account_id)
    seen: dict[tuple[MetricQuery, dt.date, dt.date], MetricValue] = {}

    def fetch(query: MetricQuery, period: Period) -> MetricValue:
        # Outcomes often share an input (and a period's "before" is the next one's "now").
        key = (query, period.start, period.end)
        try:
            if key not in seen:
                seen[key] = aggregate(session, account_id, query, period)
            return seen[key]
        except TypeError:  # a list or mapping in `where` is not hashable: just run it
            return aggregate(session, account_id, query, period)

    results = evaluate_value_case(account, value_case, as_of, fetch, few_events=few_events)
    payback = evaluate_payback(account, value_case, results)
    # The customer's words: counted as retrieval, and taken out of the metrics stage around it.
    started = time.perf_counter()
    sources = load_sources(session, account_id, as_of)
    evidence = customer_evidence(sources)
    shares = shared_packets(session, account_id) if has_shares else []
    if times is not None:
        spent = time.perf_counter() - started
        times.add("retrieval", spent)
        times.add("metrics", -spent)
    return Prepared(
        account=account,
        value_case=value_case,
        fingerprint="",
        results=results,
        payback=payback,
        sources=sources,
        evidence=evidence,
        shares=shares,
    )


def request_for(
    prep: Prepared, result: OutcomeResult, as_of: dt.date, evidence: list[Evidence]
) -> DraftRequest:
    return DraftRequest(
        account=prep.account,
        outcome=result.outcome,
        period=result.period,
        as_of=as_of,
        calculation=result.calculation,
        delivered=result.delivered,
        target=result.outcome.target,
        attainment=result.attainment,
        evidence=evidence,
        sources=prep.sources,
        siblings=[o for o in prep.value_case.outcomes if o.id != result.outcome.id],
    )


def _with_id(item: ProofItem, drafter: str, keys: dict[str, str]) -> ProofItem:
    key = evidence_key(item, drafter)
    item.id = item_id(item, key)
    keys[item.id] = key
    return item


def _verified(
    item: ProofItem,
    sources: dict[str, Source],
    fallback_claim: str | None = None,
    outcome: Outcome | None = None,
) -> ProofItem:
    """Verify ``item``; on failure retry with ``fallback_claim``, else mark it unverified.

    The fallback is the extractive template, so the retried item says the template wrote it.
    """
    errors = verify_item(item, sources, outcome)
    if errors and fallback_claim is not None and fallback_claim != item.claim:
        update = {"claim": fallback_claim, "drafted_by": "extractive"}
        retry = item.model_copy(update=update)
        retry_errors = verify_item(retry, sources, outcome)
        if not retry_errors:
            return retry
    if errors:
        item.status = "unverified"
        item.verification_errors = errors
    return item


def build(
    prep: Prepared,
    drafts: dict[str, DraftResult],
    as_of: dt.date,
    drafter: str,
    thresholds: Thresholds,
    times: StageTimes | None = None,
) -> tuple[list[ProofItem], list[GapFlag], list[Slot], dict[str, str]]:
    """Turn computed outcomes and drafts into verified items, gap flags and considered slots."""
    with timed(times, "verification"):
        items, slots, keys, found = _items(prep, drafts, as_of, drafter, thresholds)
    with timed(times, "gaps"):
        _one_outcome_per_complaint(found, prep.sources)
        gaps = raise_gaps(
            prep.account, prep.value_case, as_of, found, thresholds, prep.shares, prep.payback
        )
    return items, gaps, slots, keys


def _items(
    prep: Prepared,
    drafts: dict[str, DraftResult],
    as_of: dt.date,
    drafter: str,
    thresholds: Thresholds,
) -> tuple[list[ProofItem], list[Slot], dict[str, str], dict[str, OutcomeEvidence]]:
    account, sources = prep.account, prep.sources
    items: list[ProofItem] = []
    keys: dict[str, str] = {}
    slots: list[Slot] = []
    found: dict[str, OutcomeEvidence] = {}
    for outcome_id, result in prep.results.items():
        period = result.period
        end = None if result.outcome.period == "contract" else period.end  # open: see drafts
        slots += [(outcome_id, k, period.start, end) for k in ("calculation", "customer_statement")]
        draft = drafts.get(outcome_id) or DraftResult(drafted_by=drafter)
        evidence = OutcomeEvidence(result=result)
        if result.computed:
            template = calculation_item(
                result, account.id, claim=None, drafted_by=drafter, item_id=""
            )
            # drafted_by says who worded it: an LLM drafter that fell back reports "extractive".
            update = {"claim": draft.claim or template.claim, "drafted_by": draft.drafted_by}
            item = template.model_copy(update=update)
            item = _verified(_with_id(item, drafter, keys), sources, template.claim, result.outcome)
            item = screen_calculation(item, thresholds)
            evidence.calculation_verified = item.status != "unverified"
            items.append(item)
        for statement in draft.statements:
            item = _statement_item(
                account.id,
                result,
                statement.claim,
                statement.citations,
                statement.delivered,
                statement.drafted_by or draft.drafted_by,
                as_of,
                sources,
                thresholds,
            )
            item = _with_id(item, drafter, keys)
            if any(seen.id == item.id for seen in items):
                continue  # the same quotes drafted twice: one item, never a twin
            item = screen_statement(
                _verified(item, sources, outcome=result.outcome), result, sources, thresholds
            )
            items.append(item)
            if item.status != "unverified":
                evidence.statements.append(item)
                for c in item.citations:
                    evidence.statement_dates[c.source] = sources[c.source].date
        evidence.signals = [s for s in draft.negative_signals if _signal_ok(s, sources, account)]
        found[outcome_id] = evidence
    if prep.value_case.payback is not None:
        benefit = prep.results.get(prep.value_case.payback.benefit)
        if benefit is not None:
            end = None if benefit.outcome.period == "contract" else benefit.period.end
            slots.append((None, "payback", benefit.period.start, end))
        if prep.payback is not None and prep.payback.months is not None:
            benefit_draft = drafts.get(prep.value_case.payback.benefit)
            worded_by = benefit_draft.drafted_by if benefit_draft else drafter
            item = payback_item(prep.payback, account.id, drafted_by=worded_by, item_id="")
            items.append(_verified(_with_id(item, drafter, keys), sources))
    return items, slots, keys, found


def _thread_of(source_id: str, sources: dict[str, Source]) -> str:
    source = sources.get(source_id)
    if source is not None and source.meta.get("ticket_id") is not None:
        return ticket_source_id(source.meta["ticket_id"])
    return parse_source_id(source_id).thread


def _one_outcome_per_complaint(
    found: dict[str, OutcomeEvidence], sources: dict[str, Source]
) -> None:
    """Keep each complaint (a ticket thread or a note) on the outcome(s) it names best.

    A drafter looks at one outcome at a time, so one complaint that mentions words of several
    outcomes comes back for each; raising it everywhere would send the CSM after one problem
    several times. The outcome whose keywords its quotes hit most keeps it (ties keep all).
    """
    from clerk.drafting.signals import keyword_hits, outcome_keywords

    claims: dict[str, dict[str, int]] = {}
    for outcome_id, evidence in found.items():
        keywords = outcome_keywords(evidence.result.outcome, with_inputs=True)
        for signal in evidence.signals:
            hits = keyword_hits(" ".join(c.quote for c in signal.citations), keywords)
            for thread in {_thread_of(c.source, sources) for c in signal.citations}:
                best = claims.setdefault(thread, {})
                best[outcome_id] = max(best.get(outcome_id, 0), hits)
    for outcome_id, evidence in found.items():
        kept = []
        for signal in evidence.signals:
            threads = {_thread_of(c.source, sources) for c in signal.citations}
            if any(claims[t][outcome_id] == max(claims[t].values()) for t in threads):
                kept.append(signal)
        evidence.signals = kept


def _signal_ok(signal: SignalDraft, sources: dict[str, Source], account: Account) -> bool:
    # A negative signal is only raised on quotes that check out against their sources.
    return bool(signal.citations) and not any(
        verify_citation(c, sources, account.id) for c in signal.citations
    )


def _statement_item(
    account_id: str,
    result: OutcomeResult,
    claim: str,
    citations: Sequence[Citation],
    delivered: float | None,
    drafter: str,
    as_of: dt.date,
    sources: dict[str, Source],
    thresholds: Thresholds,
) -> ProofItem:
    outcome = result.outcome
    dates = [sources[c.source].date for c in citations if c.source in sources]
    reasons = ["the customer's own words, quoted verbatim"]
    confidence = "medium"
    if dates and (as_of - max(dates).date()).days > thresholds.stale_days:
        confidence = "low"
        reasons.append(f"the statement is more than {thresholds.stale_days} days old")
    elif len({c.source for c in citations}) > 1:
        confidence = "high"
        reasons.append("stated in more than one source")
    if delivered is None:
        reasons.append("the statement gives no number")
    item = ProofItem(
        id="",
        account=account_id,
        outcome=outcome.id,
        kind="customer_statement",
        claim=claim,
        period=result.period,
        delivered=delivered,
        target=outcome.target,
        unit=outcome.unit,
        attainment=attainment(outcome, delivered),
        citations=list(citations),
        evidence_category="customer_confirmed",
        confidence=confidence,
        confidence_reasons=reasons,
        drafted_by=drafter,
    )
    # "around 4 hours", "under 5 days": the customer's own hedge on the number lowers it.
    found = statement_reading(item, sources)
    if found is not None and found[0].is_proof and found[0].approximate:
        item.confidence = "low"
        item.confidence_reasons += found[0].notes
    return item
