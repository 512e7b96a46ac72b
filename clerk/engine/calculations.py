"""Cited calculations: every number a claim states comes from here.

``evaluate_value_case`` turns a value case into one :class:`OutcomeResult` per outcome (inputs
with values and source ids, the formula's result, confidence with reasons); the metric values
come from a ``fetch`` callable so the arithmetic stays a pure function that tests drive with
tables. ``calculation_item`` and ``payback_item`` turn results into :class:`ProofItem` drafts.

Decisions (documented here and in docs/ARCHITECTURE.md):
- Attainment is delivered / target for ``increase`` outcomes and target / delivered for
  ``decrease`` outcomes, so 1.0 always means "on target" and above 1.0 "better than promised".
- An input that names another outcome is that outcome computed over the *referencing*
  outcome's period, cited as ``outcome:<id>@<start>..<end>`` with the outcome's title.
- Payback months = investment / (benefit's period value / months in that period); investment
  defaults to ``contract.annual_value``; the item's ``target`` and ``forecast`` are the forecast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from clerk.domain.format import claim_number, money
from clerk.domain.formula import (
    Formula,
    FormulaError,
    Uncomputable,
    dependency_order,
    parse,
)
from clerk.domain.ids import assumption_source_id, outcome_source_id
from clerk.domain.models import (
    Account,
    Calculation,
    CalculationInput,
    Confidence,
    Outcome,
    OutcomeInput,
    Period,
    ProofItem,
    ValueCase,
)
from clerk.domain.periods import months_in, previous_period, reporting_period
from clerk.engine.metrics import MetricQuery, MetricValue
from clerk.settings import Settings

Fetch = Callable[[MetricQuery, Period], MetricValue]

# Fewer events than this behind a metric input makes a calculation low-confidence
# (the default of Settings.few_events; the sweep passes the configured value).
FEW_EVENTS: int = Settings.model_fields["few_events"].default
_RANK: dict[Confidence, int] = {"high": 2, "medium": 1, "low": 0}


@dataclass
class InputResult:
    """One formula input with its value for the period and where that value comes from."""

    name: str
    kind: str  # metric | assumption | outcome
    value: float | None
    unit: str | None
    source: str
    cited_as: str | None = None
    events: int | None = None  # metric inputs: how many events the aggregate rests on
    previous: MetricValue | None = None  # metric inputs: the period before, for usage_drop
    confidence: Confidence = "high"
    reason: str | None = None  # why the confidence is below high, or why value is missing
    non_numeric: str | None = None  # metric inputs: values left out as not numbers, in words


@dataclass
class OutcomeResult:
    """An outcome evaluated over its reporting period."""

    outcome: Outcome
    period: Period
    inputs: list[InputResult] = field(default_factory=list)
    delivered: float | None = None
    missing: list[str] = field(default_factory=list)  # why it could not be computed

    @property
    def computed(self) -> bool:
        return self.delivered is not None

    @property
    def calculation(self) -> Calculation | None:
        if self.outcome.formula is None or not self.computed:
            return None
        return Calculation(
            formula=self.outcome.formula,
            inputs=[
                CalculationInput(
                    name=i.name, value=i.value, unit=i.unit, source=i.source, cited_as=i.cited_as
                )
                for i in self.inputs
            ],
            result=self.delivered,
        )

    @property
    def attainment(self) -> float | None:
        return attainment(self.outcome, self.delivered)

    @property
    def confidence(self) -> tuple[Confidence, list[str]]:
        level: Confidence = "high"
        reasons: list[str] = []
        for item in self.inputs:
            if _RANK[item.confidence] < _RANK[level]:
                level = item.confidence
            if item.reason:
                reasons.append(item.reason)
        if level == "high":
            reasons.append("every input is measured usage or an assumption with its own source")
        return level, reasons


def attainment(outcome: Outcome, delivered: float | None) -> float | None:
    """delivered / target (increase) or target / delivered (decrease); None if undefined."""
    target = outcome.target
    if delivered is None or target is None:
        return None
    if outcome.direction == "decrease":
        return None if delivered == 0 else target / delivered
    return None if target == 0 else delivered / target


def short_of_target(outcome: Outcome, delivered: float | None) -> bool:
    """True when ``delivered`` misses the target in the outcome's direction."""
    if delivered is None or outcome.target is None:
        return False
    if outcome.direction == "decrease":
        return delivered > outcome.target
    return delivered < outcome.target


def _assumption_input(outcome: Outcome, item: OutcomeInput, vc_source: str | None) -> InputResult:
    result = InputResult(
        name=item.name,
        kind="assumption",
        value=item.assumption,
        unit=item.unit,
        source=assumption_source_id(outcome.id, item.name),
        cited_as=item.source or vc_source,
    )
    if item.assumption is None:
        result.confidence, result.reason = "low", f"assumption {item.name} has no value"
    elif not item.source and vc_source:
        result.confidence = "medium"
        result.reason = f"assumption {item.name} is cited only to the value case, not its own study"
    elif not item.source:
        result.confidence, result.reason = "low", f"assumption {item.name} has no source"
    return result


def _metric_input(
    item: OutcomeInput,
    period: Period,
    kind: str,
    fetch: Fetch,
    with_previous: bool,
    few_events: int = FEW_EVENTS,
) -> InputResult:
    query = MetricQuery.from_input(item)
    value = fetch(query, period)
    unit = item.unit or ("count" if query.aggregation in {"count", "unique_count"} else None)
    result = InputResult(
        name=item.name,
        kind="metric",
        value=value.value,
        unit=unit,
        source=value.source_id,
        events=value.events,
    )
    if with_previous:
        before = previous_period(kind, period)  # type: ignore[arg-type]
        if before is not None:
            result.previous = fetch(query, before)
    odd = value.non_numeric_note()
    result.non_numeric = odd and f"{item.name}: {odd}"
    if value.value is None:
        result.confidence = "low"
        if not value.events:
            result.reason = f"no {query.metric} events for {item.name} in {period.label}"
        else:
            field = query.field or "the field"
            result.reason = (
                f"{value.events:,} {query.metric} events for {item.name} in {period.label}, "
                f"none with a number in {field}" + (f": {odd}" if odd else "")
            )
    elif odd:
        # A sum or maximum that leaves values out is not a figure to present as proof.
        result.confidence = "low"
        result.reason = f"{item.name} leaves out values: {odd}"
    elif value.events < few_events:
        result.confidence = "low"
        result.reason = f"{item.name} rests on only {value.events} events"
    return result


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Formula:
    """``parse``, once per formula text in a process: a sweep evaluates the same few value-case
    formulas for every account (a refused formula raises each time; errors are not cached)."""
    return parse(text)


def evaluate_value_case(
    account: Account,
    value_case: ValueCase,
    as_of: dt.date,
    fetch: Fetch,
    *,
    few_events: int = FEW_EVENTS,
) -> dict[str, OutcomeResult]:
    """Evaluate every outcome at ``as_of``, referenced outcomes first.

    Uncomputable outcomes (a missing input, no events, a division by zero) get
    ``delivered=None`` and the reasons in ``missing``; nothing raises for bad data.
    """
    outcomes = {o.id: o for o in value_case.outcomes}
    refs = {o.id: [i.outcome for i in o.inputs if i.outcome] for o in outcomes.values()}
    try:
        order = dependency_order(refs)
    except FormulaError:
        order = list(outcomes)  # ingest refuses cycles; evaluate() below marks them missing
    memo: dict[tuple[str, dt.date, dt.date], OutcomeResult] = {}

    def evaluate(outcome: Outcome, period: Period, stack: tuple[str, ...]) -> OutcomeResult:
        key = (outcome.id, period.start, period.end)
        if key in memo:
            return memo[key]
        result = OutcomeResult(outcome=outcome, period=period)
        memo[key] = result
        if outcome.evidence == "customer_reported" or outcome.formula is None:
            result.missing.append("reported by the customer, not calculated")
            return result
        primary = period == reporting_period(outcome.period, as_of, account.contract.start)
        for item in outcome.inputs:
            if item.kind == "metric":
                result.inputs.append(
                    _metric_input(item, period, outcome.period, fetch, primary, few_events)
                )
            elif item.kind == "outcome":
                result.inputs.append(_outcome_input(item, period, stack + (outcome.id,)))
            else:
                result.inputs.append(_assumption_input(outcome, item, value_case.source))
        values = {i.name: i.value for i in result.inputs}
        try:
            formula = _parsed(outcome.formula)
            unknown = [n for n in formula.names if n not in values]
            if unknown:
                raise Uncomputable("formula names unknown input " + ", ".join(unknown))
            result.delivered = formula.evaluate(values)
        except FormulaError as exc:
            result.missing.append(f"the formula is not allowed: {exc} (at {exc.token!r})")
        except Uncomputable as exc:
            result.missing.append(str(exc))
            result.missing += [i.reason for i in result.inputs if i.value is None and i.reason]
        return result

    def _outcome_input(item: OutcomeInput, period: Period, stack: tuple[str, ...]) -> InputResult:
        ref = outcomes.get(item.outcome or "")
        source = outcome_source_id(item.outcome or "", period.start, period.end)
        if ref is None or ref.id in stack:
            why = "a cycle" if ref is not None else "no such outcome"
            return InputResult(
                item.name,
                "outcome",
                None,
                item.unit,
                source,
                None,
                None,
                None,
                "low",
                f"{item.name} refers to {item.outcome}: {why}",
            )
        sub = evaluate(ref, period, stack)
        level, _ = sub.confidence
        reason = None
        if sub.delivered is None:
            level, reason = "low", f"{ref.id} cannot be computed for {period.label}"
        elif level != "high":
            reason = f"{item.name} inherits {level} confidence from {ref.id}"
        return InputResult(
            item.name,
            "outcome",
            sub.delivered,
            item.unit or ref.unit,
            source,
            ref.title,
            None,
            None,
            level,
            reason,
        )

    results: dict[str, OutcomeResult] = {}
    for outcome_id in order:
        outcome = outcomes[outcome_id]
        period = reporting_period(outcome.period, as_of, account.contract.start)
        results[outcome_id] = evaluate(outcome, period, ())
    return {o.id: results[o.id] for o in value_case.outcomes}


# --- wording ------------------------------------------------------------------------------


def calculation_claim(result: OutcomeResult) -> str:
    """The template claim: "Hours saved on invoice approvals: 1,320 hours in Q2 2026, ..."."""
    outcome = result.outcome
    assert result.delivered is not None
    delivered = claim_number(result.delivered)
    claim = f"{outcome.title}: {delivered} {outcome.unit} in {result.period.label}"
    if outcome.target is not None:
        claim += f", against a target of {claim_number(outcome.target)}"
    return claim + "."


def calculation_item(
    result: OutcomeResult, account_id: str, *, claim: str | None, drafted_by: str, item_id: str
) -> ProofItem:
    """The cited calculation item of a computed outcome; ``claim=None`` uses the template."""
    outcome = result.outcome
    confidence, reasons = result.confidence
    return ProofItem(
        id=item_id,
        account=account_id,
        outcome=outcome.id,
        kind="calculation",
        claim=claim or calculation_claim(result),
        period=result.period,
        delivered=result.delivered,
        target=outcome.target,
        unit=outcome.unit,
        attainment=result.attainment,
        calculation=result.calculation,
        evidence_category="usage_proxy" if outcome.category == "adoption" else "outcome",
        confidence=confidence,
        confidence_reasons=reasons,
        drafted_by=drafted_by,
    )


@dataclass
class PaybackResult:
    """Months to pay back the investment at the benefit outcome's current rate."""

    benefit: OutcomeResult
    investment: float
    investment_cited_as: str
    months: float | None
    forecast: float | None
    currency: str = "USD"

    @property
    def calculation(self) -> Calculation:
        # The months of the period are a constant of the formula, not a cited input.
        period_months = claim_number(months_in(self.benefit.period))
        return Calculation(
            formula=f"investment / (benefit / {period_months})",
            inputs=[
                CalculationInput(
                    name="investment",
                    value=self.investment,
                    unit=self.currency,
                    source=assumption_source_id("payback", "investment"),
                    cited_as=self.investment_cited_as,
                ),
                CalculationInput(
                    name="benefit",
                    value=self.benefit.delivered,
                    unit=self.benefit.outcome.unit,
                    source=outcome_source_id(
                        self.benefit.outcome.id, self.benefit.period.start, self.benefit.period.end
                    ),
                    cited_as=self.benefit.outcome.title,
                ),
            ],
            result=self.months,
        )


def evaluate_payback(
    account: Account, value_case: ValueCase, results: dict[str, OutcomeResult]
) -> PaybackResult | None:
    """The payback of the value case, or None when it has none or its benefit is unknown."""
    payback = value_case.payback
    if payback is None or payback.benefit not in results:
        return None
    benefit = results[payback.benefit]
    if payback.investment is not None:
        investment, cited = payback.investment, value_case.source or "value case"
    elif account.contract.annual_value is not None:
        investment = account.contract.annual_value
        cited = "Contract annual value (account.yaml)"
    else:
        return None
    months = None
    if benefit.delivered is not None and benefit.delivered > 0:
        months = investment / (benefit.delivered / months_in(benefit.period))
    return PaybackResult(
        benefit, investment, cited, months, payback.forecast_months, account.contract.currency
    )


def payback_claim(payback: PaybackResult) -> str:
    """The template claim of a payback item."""
    assert payback.months is not None
    claim = (
        f"At the {payback.benefit.period.label} rate of {payback.benefit.outcome.title.lower()}, "
        f"the {money(payback.investment, payback.currency)} invested pays back in "
        f"{claim_number(payback.months)} months"
    )
    if payback.forecast is not None:
        claim += f", against a forecast of {claim_number(payback.forecast)} months"
    return claim + "."


def payback_item(
    payback: PaybackResult, account_id: str, *, drafted_by: str, item_id: str
) -> ProofItem:
    """The ``payback`` item (outcome ``None``) of a computable payback."""
    confidence, reasons = payback.benefit.confidence
    attain = None
    if payback.forecast is not None and payback.months:
        attain = payback.forecast / payback.months  # fewer months than forecast is better
    return ProofItem(
        id=item_id,
        account=account_id,
        outcome=None,
        kind="payback",
        claim=payback_claim(payback),
        period=payback.benefit.period,
        delivered=payback.months,
        target=payback.forecast,
        forecast=payback.forecast,
        unit="months",
        attainment=attain,
        calculation=payback.calculation,
        evidence_category="outcome",
        confidence=confidence,
        confidence_reasons=[f"benefit {payback.benefit.outcome.id}: {r}" for r in reasons],
        drafted_by=drafted_by,
    )
