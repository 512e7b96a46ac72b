"""Formula evaluation, outcome references, attainment, confidence and payback: pure tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from clerk.domain.format import claim_number
from clerk.domain.formula import FormulaError, parse
from clerk.domain.models import Account, Outcome, Period, ValueCase
from clerk.engine.calculations import (
    attainment,
    calculation_claim,
    evaluate_payback,
    evaluate_value_case,
    payback_item,
    short_of_target,
)
from clerk.engine.metrics import MetricQuery, MetricValue, metric_source_id
from clerk.engine.verify import verify_item

AS_OF = dt.date(2026, 7, 1)
ACCOUNT = Account.model_validate(
    {"id": "acme", "name": "Acme", "csm": "c@v.example",
     "contract": {"start": "2026-01-01", "annual_value": 96000}}
)  # fmt: skip


def fetch_from(values: Mapping[tuple[str, str], tuple[float | None, int]]) -> Any:
    """A fake metric engine: (metric, period start) -> (value, events)."""

    def fetch(query: MetricQuery, period: Period) -> MetricValue:
        value, events = values.get((query.metric, period.start.isoformat()), (None, 0))
        return MetricValue(value, events, metric_source_id(query, period))

    return fetch


def case(
    *outcomes: dict[str, Any], source: str | None = "Business case", **extra: Any
) -> ValueCase:
    return ValueCase.model_validate(
        {"account_id": "acme", "source": source, "outcomes": list(outcomes), **extra}
    )


HOURS = {
    "id": "hours", "title": "Hours saved", "category": "cost", "unit": "hours", "target": 1200,
    "formula": "approvals * minutes / 60",
    "inputs": [
        {"name": "approvals", "metric": "approval", "aggregation": "count"},
        {"name": "minutes", "assumption": 16.5, "source": "Time study"},
    ],
}  # fmt: skip
COST = {
    "id": "cost", "title": "Cost recovered", "category": "cost", "unit": "USD", "target": 54000,
    "formula": "hours * rate",
    "inputs": [{"name": "hours", "outcome": "hours"}, {"name": "rate", "assumption": 45}],
}  # fmt: skip
Q2 = "2026-04-01"
Q1 = "2026-01-01"


@pytest.mark.parametrize(
    ("formula", "inputs", "metrics", "delivered", "missing"),
    [
        ("a * b / 60", {"a": 4800, "b": 16.5}, {}, 1320.0, None),
        ("min(a, b) + max(a, b)", {"a": 1, "b": 2}, {}, 3.0, None),
        ("a / b", {"a": 1, "b": 0}, {}, None, "division by zero"),
        ("a / (b - b)", {"a": 1, "b": 3}, {}, None, "division by zero"),
        ("a * c", {"a": 1}, {}, None, "unknown input c"),
        ("a * m", {"a": 2}, {("approval", Q2): (None, 0)}, None, "no approval events"),
        ("a * m", {"a": 2}, {("approval", Q2): (10.0, 10)}, 20.0, None),
    ],
)
def test_formula_outcomes(
    formula: str,
    inputs: dict[str, float],
    metrics: dict[Any, Any],
    delivered: float | None,
    missing: str | None,
) -> None:
    spec = [{"name": k, "assumption": v, "source": "s"} for k, v in inputs.items()]
    if "m" in formula:
        spec.append({"name": "m", "metric": "approval", "aggregation": "count"})
    vc = case({"id": "o", "title": "O", "category": "cost", "unit": "x", "formula": formula,
               "inputs": spec})  # fmt: skip
    result = evaluate_value_case(ACCOUNT, vc, AS_OF, fetch_from(metrics))["o"]
    assert result.delivered == (None if delivered is None else pytest.approx(delivered))
    if missing is None:
        assert result.missing == []
    else:
        assert any(missing in m for m in result.missing)


@pytest.mark.parametrize(
    ("formula", "token"),
    [
        ("a ** 2", "**"),
        ("a % 2", "%"),
        ("a // 2", "//"),
        ("abs(a)", "abs"),
        ("__import__('os')", "__import__"),
        ("a.b", "a.b"),
        ("'text'", "'text'"),
        ("a if b else c", "a if b else c"),
        ("max(a)", "max"),
        ("a +", "a +"),
        ("True * a", "True"),
    ],
)
def test_formula_errors_name_the_token(formula: str, token: str) -> None:
    with pytest.raises(FormulaError) as raised:
        parse(formula)
    assert raised.value.token == token


def test_a_bad_formula_makes_the_outcome_uncomputable_not_a_crash() -> None:
    vc = case({"id": "o", "title": "O", "category": "cost", "unit": "x", "formula": "a ** 2",
               "inputs": [{"name": "a", "assumption": 2, "source": "s"}]})  # fmt: skip
    result = evaluate_value_case(ACCOUNT, vc, AS_OF, fetch_from({}))["o"]
    assert result.delivered is None and "**" in result.missing[0]


def test_outcome_reference_uses_the_referencing_period_and_is_cited() -> None:
    cost = {**COST, "period": "month"}  # hours is quarterly; cost asks for June only
    vc = case(cost, HOURS)
    metrics = {("approval", Q2): (4800.0, 4800), ("approval", "2026-06-01"): (1000.0, 1000)}
    results = evaluate_value_case(ACCOUNT, vc, AS_OF, fetch_from(metrics))
    assert results["hours"].delivered == pytest.approx(1320)
    assert results["cost"].delivered == pytest.approx(1000 * 16.5 / 60 * 45)
    ref = results["cost"].inputs[0]
    assert ref.source == "outcome:hours@2026-06-01..2026-07-01"
    assert ref.cited_as == "Hours saved"


@pytest.mark.parametrize(
    ("direction", "target", "delivered", "ratio", "short"),
    [
        ("increase", 40, 38, 0.95, True),
        ("increase", 40, 40, 1.0, False),
        ("increase", 1200, 1320, 1.1, False),
        ("decrease", 6, 6, 1.0, False),
        ("decrease", 6, 8, 0.75, True),
        ("decrease", 6, 4, 1.5, False),
        ("increase", 0, 5, None, False),
        ("decrease", 6, 0, None, False),
        ("increase", None, 5, None, False),
    ],
)
def test_attainment_is_direction_aware(
    direction: str, target: float | None, delivered: float, ratio: float | None, short: bool
) -> None:
    outcome = Outcome(id="o", title="O", category="cost", unit="x", direction=direction,
                      target=target)  # fmt: skip
    assert attainment(outcome, delivered) == (None if ratio is None else pytest.approx(ratio))
    assert short_of_target(outcome, delivered) is short


@pytest.mark.parametrize(
    ("own_source", "case_source", "events", "level", "reason"),
    [
        ("Time study", "Business case", 4800, "high", "every input is measured usage"),
        (None, "Business case", 4800, "medium", "cited only to the value case"),
        (None, None, 4800, "low", "minutes has no source"),
        ("Time study", "Business case", 3, "low", "only 3 events"),
    ],
)
def test_confidence_with_reasons(
    own_source: str | None, case_source: str | None, events: int, level: str, reason: str
) -> None:
    hours = {
        **HOURS,
        "inputs": [
            HOURS["inputs"][0],  # type: ignore[index]
            {"name": "minutes", "assumption": 16.5, "source": own_source},
        ],
    }
    vc = case(hours, source=case_source)
    result = evaluate_value_case(
        ACCOUNT, vc, AS_OF, fetch_from({("approval", Q2): (4800.0, events)})
    )
    got, reasons = result["hours"].confidence
    assert got == level
    assert any(reason in r for r in reasons)


def test_previous_period_is_fetched_for_metric_inputs() -> None:
    metrics = {("approval", Q2): (4800.0, 4800), ("approval", Q1): (6000.0, 6000)}
    result = evaluate_value_case(ACCOUNT, case(HOURS), AS_OF, fetch_from(metrics))["hours"]
    previous = result.inputs[0].previous
    assert previous is not None and previous.value == 6000.0
    assert previous.source_id == "metric:approval@2026-01-01..2026-04-01"


@pytest.mark.parametrize(
    ("payback", "annual", "months", "investment"),
    [
        ({"benefit": "cost", "forecast_months": 6}, 96000, 96000 / (59400 / 3), 96000),
        ({"benefit": "cost", "investment": 59400}, None, 3.0, 59400),
        ({"benefit": "cost"}, None, None, None),  # no investment anywhere: no payback
    ],
)
def test_payback_months(
    payback: dict[str, Any], annual: float | None, months: float | None, investment: float | None
) -> None:
    account = ACCOUNT.model_copy(
        update={"contract": ACCOUNT.contract.model_copy(update={"annual_value": annual})}
    )
    vc = case(HOURS, COST, payback=payback)
    results = evaluate_value_case(
        account, vc, AS_OF, fetch_from({("approval", Q2): (4800.0, 4800)})
    )
    result = evaluate_payback(account, vc, results)
    if investment is None:
        assert result is None
        return
    assert result is not None and result.investment == investment
    assert result.months == pytest.approx(months)


def test_claims_state_only_verified_numbers() -> None:
    vc = case(HOURS, COST, payback={"benefit": "cost", "forecast_months": 6})
    results = evaluate_value_case(
        ACCOUNT, vc, AS_OF, fetch_from({("approval", Q2): (4800.0, 4800)})
    )
    assert calculation_claim(results["hours"]) == (
        "Hours saved: 1,320 hours in Q2 2026, against a target of 1,200."
    )
    payback = evaluate_payback(ACCOUNT, vc, results)
    assert payback is not None
    item = payback_item(payback, "acme", drafted_by="extractive", item_id="pi_x")
    assert item.delivered == pytest.approx(4.8485, rel=1e-3)
    assert item.target == 6 and item.forecast == 6
    assert "4.85 months" in item.claim
    assert verify_item(item, {}) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [(1320.0, "1,320"), (59400.0, "59,400"), (4.848484, "4.85"), (6.0, "6"), (0.5, "0.5"),
     (38.0, "38"), (123.456, "123")],
)  # fmt: skip
def test_fmt(value: float, text: str) -> None:
    assert claim_number(value) == text
