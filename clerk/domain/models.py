"""The one vocabulary: domain types shared by ingest, store, sweep, API, templates and evals.

Names follow ``shared/spec/FORMATS.md``. Every other module imports these; none defines its
own copy of an Account, an Outcome or a ProofItem.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ACCOUNT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
OUTCOME_ID_RE = re.compile(r"^[a-z0-9_]+$")

Category = Literal["revenue", "cost", "risk", "productivity", "adoption"]
PeriodKind = Literal["month", "quarter", "year", "contract"]
Direction = Literal["increase", "decrease"]
Aggregation = Literal["count", "sum", "max", "latest", "unique_count"]
ItemKind = Literal["calculation", "customer_statement", "payback"]
EvidenceCategory = Literal["outcome", "usage_proxy", "customer_confirmed"]
Confidence = Literal["high", "medium", "low"]
ItemStatus = Literal["pending", "approved", "edited", "rejected", "unverified", "superseded"]
GapKind = Literal[
    "no_evidence",
    "under_delivery",
    "stale_evidence",
    "unverified_assumption",
    "usage_drop",
    "negative_signal",
    "usage_proxy_only",
    "no_owner",
    "unconfirmed_by_customer",
    "payback_behind_forecast",
]
GAP_KINDS: tuple[str, ...] = GapKind.__args__  # type: ignore[attr-defined]
Severity = Literal["high", "medium", "low"]
GapStatus = Literal["open", "acknowledged", "dismissed", "resolved"]
SourceKind = Literal["ticket", "ticket_comment", "note", "usage_digest"]
Role = Literal["csm", "manager", "admin"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- accounts and value cases (inputs) -------------------------------------------------


class Person(_Model):
    name: str
    title: str | None = None
    email: str | None = None


class Contract(_Model):
    start: dt.date
    renewal: dt.date | None = None
    annual_value: float | None = None
    currency: str = "USD"


class Account(_Model):
    id: str
    name: str
    csm: str | None = None
    champion: Person | None = None
    executive_buyer: Person | None = None
    contract: Contract
    zendesk_organization_id: int | None = None
    usage_subjects: list[str] = Field(default_factory=list)
    customer_domains: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ACCOUNT_ID_RE.match(value):
            raise ValueError("must match [a-z0-9][a-z0-9_-]{0,63}")
        return value

    @model_validator(mode="after")
    def _default_subjects(self) -> Account:
        if not self.usage_subjects:
            self.usage_subjects = [self.id]
        return self


class OutcomeInput(_Model):
    """One named input of an outcome's formula: a metric, an assumption or another outcome."""

    name: str
    metric: str | None = None
    aggregation: Aggregation | None = None
    field: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    assumption: float | None = None
    outcome: str | None = None
    unit: str | None = None
    source: str | None = None
    label: str | None = None  # the input's title in the customer's language (the packet)

    @property
    def kind(self) -> Literal["metric", "assumption", "outcome"]:
        if self.metric is not None:
            return "metric"
        if self.outcome is not None:
            return "outcome"
        return "assumption"


class Outcome(_Model):
    id: str
    title: str
    category: Category
    unit: str
    period: PeriodKind = "quarter"
    direction: Direction = "increase"
    target: float | None = None
    baseline: float | None = None
    formula: str | None = None
    inputs: list[OutcomeInput] = Field(default_factory=list)
    evidence: Literal["calculated", "customer_reported"] = "calculated"
    # Phrases the customer uses for this outcome ("month-end close", "close cycle"): matched
    # beside the title's words and its meaning when reading customer statements.
    aliases: list[str] = Field(default_factory=list)

    def input(self, name: str) -> OutcomeInput | None:
        return next((i for i in self.inputs if i.name == name), None)


class Payback(_Model):
    investment: float | None = None
    benefit: str
    forecast_months: float | None = None


class ValueCase(_Model):
    account_id: str
    source: str | None = None
    outcomes: list[Outcome] = Field(default_factory=list)
    payback: Payback | None = None

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.id == outcome_id), None)


# --- evidence ---------------------------------------------------------------------------


class Span(_Model):
    start: int
    end: int


class Source(_Model):
    """A citable text: a ticket, a ticket comment, a note or a usage digest."""

    id: str
    account_id: str
    kind: SourceKind
    title: str = ""
    text: str
    date: dt.datetime
    author: str | None = None
    public: bool = True
    customer_spans: list[Span] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    def is_customer_text(self, start: int, end: int) -> bool:
        return any(s.start <= start and end <= s.end for s in self.customer_spans)


class Period(_Model):
    start: dt.date
    end: dt.date  # exclusive
    label: str = ""


# --- drafts -----------------------------------------------------------------------------


class CalculationInput(_Model):
    name: str
    value: float | None
    unit: str | None = None
    source: str
    cited_as: str | None = None


class Calculation(_Model):
    formula: str
    inputs: list[CalculationInput]
    result: float | None


class Citation(_Model):
    source: str
    quote: str
    start: int
    end: int


class ProofItem(_Model):
    id: str
    account: str
    outcome: str | None
    kind: ItemKind
    claim: str
    period: Period | None = None
    delivered: float | None = None
    target: float | None = None
    unit: str | None = None
    attainment: float | None = None
    forecast: float | None = None
    calculation: Calculation | None = None
    citations: list[Citation] = Field(default_factory=list)
    evidence_category: EvidenceCategory = "outcome"
    confidence: Confidence = "medium"
    confidence_reasons: list[str] = Field(default_factory=list)
    status: ItemStatus = "pending"
    drafted_by: str = "extractive"
    verification_errors: list[str] = Field(default_factory=list)
    asserted_by_csm: bool = False
    asserted_reason: str | None = None
    version: int = 1


class GapFlag(_Model):
    id: str
    account: str
    outcome: str | None
    kind: GapKind
    severity: Severity
    message: str
    next_action: str
    risk: str
    owner: str | None = None
    status: GapStatus = "open"
    period: Period | None = None
    citations: list[Citation] = Field(default_factory=list)
    # Evidence that is not a text to quote: the metric aggregates a usage_drop compares.
    sources: list[str] = Field(default_factory=list)
    due_date: dt.date | None = None
    version: int = 1


class Review(_Model):
    """One audited decision on a proof item or gap flag."""

    target_type: Literal["proof_item", "gap_flag"]
    target_id: str
    action: str
    actor: str
    at: dt.datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


class CustomerConfirmation(_Model):
    """The customer's champion confirmed a proof item, worded as ``claim``, from a share link."""

    item_id: str
    name: str
    at: dt.datetime
    version: int  # the packet version they confirmed it in


class TrendPoint(_Model):
    """An outcome's delivered value over one reporting period, computed by the engine."""

    period: Period
    delivered: float | None = None
    target: float | None = None


class OutcomeTrend(_Model):
    """Delivered against target over the last reporting periods, oldest first."""

    outcome: str
    points: list[TrendPoint] = Field(default_factory=list)


class Packet(_Model):
    account: Account
    as_of: dt.date
    version: int
    published_at: dt.datetime | None = None
    published_by: str | None = None
    proof_items: list[ProofItem]
    gap_flags: list[GapFlag]
    outcomes: list[Outcome]
    # items of this packet the customer confirmed in an earlier version (same id, same claim)
    confirmations: list[CustomerConfirmation] = Field(default_factory=list)
    # Each proven outcome over its last four reporting periods (the packet's charts).
    trends: list[OutcomeTrend] = Field(default_factory=list)


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


class SignalDraft(BaseModel):
    """Customer-side evidence that contradicts the outcome."""

    reason: str
    citations: list[Citation]
