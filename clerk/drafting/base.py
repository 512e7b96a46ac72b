"""The Drafter interface: one async method, ``draft``, shared by the extractive and LLM drafters.

The sweep computes every number of a calculation itself (clerk.metrics); a drafter only words
claims and finds customer statements and negative signals in the evidence it is handed.
Whatever a drafter returns goes through clerk.verify before it is stored as verified.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from clerk.models import Account, Calculation, Citation, Outcome, Period, Source


class Evidence(BaseModel):
    """One retrieved passage, located inside its source's full text."""

    source_id: str
    kind: str  # ticket | ticket_comment | note | usage_digest
    text: str  # the passage text == source.text[start:end]
    start: int = 0
    end: int = 0
    date: dt.datetime
    customer: bool  # the passage lies inside the customer's words
    score: float = 0.0


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


class StatementDraft(BaseModel):
    """A customer statement supporting the outcome, quoted verbatim."""

    claim: str
    citations: list[Citation]
    delivered: float | None = None


class SignalDraft(BaseModel):
    """Customer-side evidence that contradicts the outcome."""

    reason: str
    citations: list[Citation]


class DraftResult(BaseModel):
    drafted_by: str
    claim: str | None = None  # wording for the calculation item, if one was computed
    statements: list[StatementDraft] = Field(default_factory=list)
    negative_signals: list[SignalDraft] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # failures, fallbacks, refusals


@runtime_checkable
class Drafter(Protocol):
    name: str

    async def draft(self, request: DraftRequest) -> DraftResult:
        """Draft the claim, statements and signals for one account outcome."""
        ...
