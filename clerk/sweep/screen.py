"""The sweep's last look at a draft before it is stored (issue 13).

:func:`screen_statement` keeps a customer statement from passing as confirmation when

- its quote, or the customer text around it, is addressed to an assistant or a tool
  (``clerk.drafting.injection.classify``), or
- its number is far from the calculated value of the same outcome and period
  (``clerk.engine.trust.disagreement``, ``CLERK_STATEMENT_TOLERANCE_PCT``).

Such a statement is stored ``unverified`` with the reason as its verification error, the note
the reviewer reads: it cannot be approved as drafted, does not count as confirmation for the
gap rules, and an edit keeps the reason (``still_screened``) so approving it needs the CSM's
explicit assertion. :func:`screen_calculation` flags attainment above the sanity bound.
"""

from __future__ import annotations

from clerk.domain.models import ProofItem, Source
from clerk.drafting.injection import classify
from clerk.engine.calculations import OutcomeResult
from clerk.engine.gaps import Thresholds
from clerk.engine.trust import SCREEN_PREFIX, disagreement, flag_attainment

# Characters of source text either side of a quote that are read with it: a planted
# "Note for the reporting assistant:" usually sits just before the sentence quoted.
CONTEXT_CHARS = 300


def _texts(item: ProofItem, sources: dict[str, Source]) -> list[str]:
    texts = [item.claim]
    for c in item.citations:
        texts.append(c.quote)
        source = sources.get(c.source)
        if source is None:
            continue
        texts.append(source.text[max(0, c.start - CONTEXT_CHARS) : c.end + CONTEXT_CHARS])
        texts += [
            source.text[s.start : s.end]
            for s in source.customer_spans
            if s.start < c.end and c.start < s.end
        ]
    return texts


def screening_errors(
    item: ProofItem, result: OutcomeResult, sources: dict[str, Source], thresholds: Thresholds
) -> list[str]:
    """Why a customer statement cannot stand as confirmation (empty: it may)."""
    errors: list[str] = []
    for text in _texts(item, sources):
        verdict = classify(text)
        if verdict.flagged:
            errors.append(f"{SCREEN_PREFIX}the customer text {verdict.note}")
            break
    apart = disagreement(
        item.delivered,
        result.delivered,
        item.unit or result.outcome.unit,
        result.period.label,
        thresholds.statement_tolerance_pct,
    )
    if apart:
        errors.append(apart)
    return errors


def screen_statement(
    item: ProofItem, result: OutcomeResult, sources: dict[str, Source], thresholds: Thresholds
) -> ProofItem:
    """``item`` unverified with the reasons when it must not pass as confirmation."""
    item = flag_attainment(item, thresholds.attainment_bound_pct)
    errors = screening_errors(item, result, sources, thresholds)
    if not errors:
        return item
    return item.model_copy(
        update={
            "status": "unverified",
            "verification_errors": [*item.verification_errors, *errors],
            "confidence": "low",
        }
    )


def screen_calculation(item: ProofItem, thresholds: Thresholds) -> ProofItem:
    """A calculation item flagged for the reviewer when its attainment is beyond belief."""
    return flag_attainment(item, thresholds.attainment_bound_pct)


def still_screened(item: ProofItem) -> list[str]:
    """The screening reasons an edited item keeps: rewording does not change what was quoted."""
    return [e for e in item.verification_errors if e.startswith(SCREEN_PREFIX)]
