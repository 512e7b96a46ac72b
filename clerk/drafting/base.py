"""The Drafter interface: one async method, ``draft``, shared by the extractive and LLM drafters.

The sweep computes every number of a calculation itself (clerk.engine.metrics); a drafter only words
claims and finds customer statements and negative signals in the evidence it is handed.
Whatever a drafter returns goes through clerk.engine.verify before it is stored as verified.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from clerk.domain.models import (
    Account,
    Calculation,
    Citation,
    Evidence,
    Outcome,
    Period,
    SignalDraft,
    Source,
)


class DraftRequest(BaseModel):
    account: Account
    outcome: Outcome
    period: Period
    as_of: dt.date
    calculation: Calculation | None = None  # computed by the metric engine, if computable
    delivered: float | None = None
    target: float | None = None
    attainment: float | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    sources: dict[str, Source] = Field(default_factory=dict)  # full texts of cited sources
    # The account's other outcomes: a sentence is tied to the outcome it is most about.
    siblings: list[Outcome] = Field(default_factory=list)


class StatementDraft(BaseModel):
    """A customer statement supporting the outcome, quoted verbatim."""

    claim: str
    citations: list[Citation]
    delivered: float | None = None
    drafted_by: str | None = None  # who worded it, when not the DraftResult's drafter


class DraftResult(BaseModel):
    drafted_by: str
    claim: str | None = None  # wording for the calculation item, if one was computed
    statements: list[StatementDraft] = Field(default_factory=list)
    negative_signals: list[SignalDraft] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # failures, fallbacks, refusals


@runtime_checkable
class Drafter(Protocol):
    """Drafts one account outcome; its capabilities are attributes the sweep reads.

    ``ranked_evidence``: the drafter reads only the top passages (an LLM's bounded prompt),
    so the sweep hands it the search-ranked ones first. ``sweep_id``: set by the sweep before
    drafting, for drafters that record their work per sweep (the LLM's ``llm_calls`` rows).
    """

    name: str
    ranked_evidence: bool
    sweep_id: int | None

    async def draft(self, request: DraftRequest) -> DraftResult:
        """Draft the claim, statements and signals for one account outcome."""
        ...
