"""The verifier refuses claims that say nothing, echo the prompt or contradict the numbers,
whoever wrote them; the extractive drafter's own wording passes."""

from __future__ import annotations

import datetime as dt

import pytest

from clerk.domain.models import Citation, Outcome, Period, ProofItem
from clerk.engine.verify import (
    calculation_claim_errors,
    claim_substance_errors,
    echo_errors,
    polarity_errors,
    sentence_errors,
    statement_quote_errors,
)

ORDERS = Outcome(
    id="orders_auto",
    title="Orders processed automatically",
    category="productivity",
    unit="orders",
    target=1000,
)
HOURS = Outcome(id="hours_saved", title="Hours saved on invoice approvals", category="productivity",
                unit="hours", target=1200)  # fmt: skip
QUOTE = "we closed the June books in six days"


def _item(claim: str, kind: str = "calculation", **extra: object) -> ProofItem:
    values: dict[str, object] = {
        "id": "pi_1", "account": "northwind", "outcome": "orders_auto", "kind": kind,
        "claim": claim, "delivered": 1290.0, "target": 1000.0, "attainment": 1.29,
        "period": Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026"),
        **extra,
    }  # fmt: skip
    return ProofItem.model_validate(values)


@pytest.mark.parametrize(
    "claim",
    ["':{'", "Customer", '{"claim": "x"}', "The customer, in their own words"],
)
def test_empty_claims_are_refused(claim: str) -> None:
    errors = claim_substance_errors(_item(claim, kind="customer_statement"), ORDERS)
    assert errors, claim


def test_the_prompt_echoed_back_is_refused() -> None:
    echoed = "Find passages where the customer, in their own words, says this outcome was achieved."
    assert echo_errors(echoed) and "repeats the drafting instructions" in echo_errors(echoed)[0]
    assert not echo_errors("Priya Raman (customer) said on June 12, 2026 that the close is fast.")


def test_a_claim_contradicting_the_attainment_is_refused() -> None:
    # The example: an outcome at 129 % of target worded as not done.
    claim = "The customer says that the order processing is not completed"
    assert polarity_errors(claim, 1.29) == [
        "the claim says 'not' but the outcome is at 129 % of target"
    ]
    assert polarity_errors("1,290 orders processed, which exceeded the target.", 0.8)
    assert not polarity_errors("1,290 orders processed automatically, above target.", 1.29)
    # The customer's own words may say "not": only the claim's own words count.
    assert not polarity_errors('Priya said: "we are not slow any more".', 1.29)


def test_a_cue_that_is_the_outcomes_own_name_is_no_contradiction() -> None:
    retry = Outcome(
        id="retry_revenue", title="Revenue recovered through failed-payment retry",
        category="revenue", unit="USD", formula="a",
    )  # fmt: skip
    claim = (
        "$17,463.74 revenue recovered through failed-payment retry in Q4 2025, against a "
        "target of $13,009."
    )
    # Without the outcome, "failed" reads as a verdict; with it, as the outcome's name.
    assert polarity_errors(claim, 1.34) == [
        "the claim says 'failed' but the outcome is at 134 % of target"
    ]
    assert polarity_errors(claim, 1.34, retry) == []
    # A verdict beside the name is still refused.
    assert polarity_errors(claim.replace("in Q4", "has not improved in Q4"), 1.34, retry) == [
        "the claim says 'not' but the outcome is at 134 % of target"
    ]


def test_a_calculation_claim_states_value_unit_and_outcome() -> None:
    ok = "1,290 orders processed automatically in Q2 2026, against a target of 1,000."
    assert calculation_claim_errors(ok, ORDERS, 1290) == []
    assert calculation_claim_errors("Orders processed automatically went well.", ORDERS, 1290) == [
        "the claim does not state the delivered value 1,290"
    ]
    assert calculation_claim_errors("1,320 saved on invoice approvals.", HOURS, 1320) == [
        "the claim does not give the unit (hours)"
    ]
    assert calculation_claim_errors("We saved 1,320 hours this quarter.", HOURS, 1320) == [
        "the claim does not name the outcome (Hours saved on invoice approvals)"
    ]
    # An alias: most of the title's words, in another order.
    assert calculation_claim_errors("Invoice approvals saved 1,320 hours.", HOURS, 1320) == []


def test_a_statement_claim_contains_its_quote() -> None:
    assert statement_quote_errors(f'Priya said: "{QUOTE}".', [QUOTE]) == []
    assert statement_quote_errors("The customer closed the books fast.", [QUOTE])
    # Line breaks in the source are shown as spaces in the claim.
    assert statement_quote_errors('She wrote: "we closed the June books in six days".',
                                  ["we closed the June\nbooks in six days"]) == []  # fmt: skip


def test_sentences_pass() -> None:
    assert sentence_errors(f'Priya Raman (customer) said on June 12, 2026: "{QUOTE}".') == []
    assert sentence_errors("1,290 orders processed automatically in Q2 2026.") == []


def test_a_statement_item_without_its_quote_fails_verification() -> None:
    citation = Citation(source="note:northwind/call.md", quote=QUOTE, start=0, end=len(QUOTE))
    item = _item("The customer closed the books quickly this quarter.", kind="customer_statement",
                 citations=[citation])  # fmt: skip
    errors = claim_substance_errors(item, ORDERS)
    assert any("does not contain its quote" in e for e in errors)
