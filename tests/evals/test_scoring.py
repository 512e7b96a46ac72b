"""The scorer on the shipped example's expected.json, with hand-built clerk outputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evals.scoring import headline, numbers, score

QUOTE = "we closed the June books in six days"
CALL = "note:northwind/2026-06-12-call.md"


@pytest.fixture
def expected(example_dir: Path) -> dict[str, Any]:
    return json.loads((example_dir / "expected.json").read_text())


@pytest.fixture
def sources(example_dir: Path) -> dict[str, str]:
    return {CALL: (example_dir / "accounts/northwind/notes/2026-06-12-call.md").read_text()}


def _calc(outcome: str, delivered: float, target: float, claim: str, **extra: Any) -> dict:
    return {
        "outcome": outcome,
        "kind": "calculation",
        "delivered": delivered,
        "target": target,
        "claim": claim,
        "calculation": {"formula": "x", "inputs": [], "result": delivered},
        "citations": [],
        **extra,
    }


def perfect_output(sources: dict[str, str]) -> dict[str, Any]:
    start = sources[CALL].index(QUOTE)
    return {
        "northwind": {
            "proof_items": [
                _calc(
                    "hours_saved",
                    1320.0,
                    1200.0,
                    "1,320 hours saved on invoice approvals in Q2 2026 against a target of 1,200.",
                ),
                _calc("cost_recovered", 59400.0, 54000.0, "$59,400 of labour cost recovered."),
                _calc(
                    "active_approvers",
                    38.0,
                    40.0,
                    "38 approvers worked in the product, 95%.",
                    evidence_category="usage_proxy",
                    attainment=0.95,
                ),
                {
                    "outcome": "close_days",
                    "kind": "customer_statement",
                    "delivered": 6,
                    "claim": "The customer closed the June books in six days.",
                    "citations": [
                        {"source": CALL, "quote": QUOTE, "start": start, "end": start + len(QUOTE)}
                    ],
                    "evidence_category": "customer_confirmed",
                },
                {
                    "outcome": None,
                    "kind": "payback",
                    "delivered": 4.85,
                    "forecast": 6,
                    "claim": "Pays back in 4.85 months against a forecast of 6.",
                },
            ],
            "gap_flags": [
                {
                    "outcome": "active_approvers",
                    "kind": "under_delivery",
                    "message": "38 of 40 approvers.",
                }
            ],
        }
    }


def test_perfect_output_scores_full_marks(expected, sources) -> None:
    report = score(expected, perfect_output(sources), sources)
    figures = headline(report)
    assert figures == {
        "calculation_accuracy": 1.0,
        "payback_accuracy": 1.0,
        "statement_recall": 1.0,
        "statement_precision": 1.0,
        "statement_value_accuracy": 1.0,
        "false_proof": 0.0,
        "gap_recall": 1.0,
        "gap_precision": 1.0,
        "quote_validity": 1.0,
        "ungrounded_claim_numbers": 0.0,
        "injection_leaks": 0.0,
    }, report["failures"]
    assert report["failures"] == []


def test_one_wrong_number_costs_calculation_accuracy(expected, sources) -> None:
    out = perfect_output(sources)
    out["northwind"]["proof_items"][0]["delivered"] = 1330.0  # 0.76 % off: outside 0.5 %
    report = score(expected, out, sources)
    assert report["calculation"]["correct"] == 2 and report["calculation"]["wrong"] == 1
    assert headline(report)["calculation_accuracy"] == pytest.approx(2 / 3)
    # Within the tolerance it still counts.
    out["northwind"]["proof_items"][0]["delivered"] = 1325.0
    assert headline(score(expected, out, sources))["calculation_accuracy"] == 1.0


def test_payback_tolerance_is_one_percent(expected, sources) -> None:
    out = perfect_output(sources)
    out["northwind"]["proof_items"][4]["delivered"] = 4.81  # 0.8 % under 4.8485
    assert headline(score(expected, out, sources))["payback_accuracy"] == 1.0
    out["northwind"]["proof_items"][4]["delivered"] = 4.70
    assert headline(score(expected, out, sources))["payback_accuracy"] == 0.0


def test_missing_flag_costs_recall(expected, sources) -> None:
    out = perfect_output(sources)
    out["northwind"]["gap_flags"] = []
    report = score(expected, out, sources)
    assert report["gaps"]["recall"] == 0.0
    assert report["gaps"]["per_kind"]["under_delivery"]["recall"] == 0.0
    assert report["gaps"]["precision"] == 1.0  # nothing wrong was said


def test_extra_flag_costs_precision_but_optional_does_not(expected, sources) -> None:
    out = perfect_output(sources)
    out["northwind"]["gap_flags"].append({"outcome": "hours_saved", "kind": "negative_signal"})
    report = score(expected, out, sources)
    assert report["gaps"]["recall"] == 1.0
    assert report["gaps"]["precision"] == 0.5
    assert report["gaps"]["per_kind"]["negative_signal"]["extra"] == 1
    relaxed = copy.deepcopy(expected)
    relaxed["accounts"]["northwind"]["optional_gap_flags"] = [
        {"outcome": "hours_saved", "kind": "negative_signal"}
    ]
    assert score(relaxed, out, sources)["gaps"]["precision"] == 1.0


def test_non_verbatim_quote_fails_validity_and_the_statement(expected, sources) -> None:
    out = perfect_output(sources)
    cit = out["northwind"]["proof_items"][3]["citations"][0]
    cit["quote"] = "we closed the June books in 6 days"  # paraphrase, same offsets
    report = score(expected, out, sources)
    assert report["quotes"]["validity"] == 0.0
    assert report["statements"]["recall"] == 0.0
    assert report["statements"]["precision"] == 0.0


def test_statement_citing_another_source_is_not_recall(expected, sources) -> None:
    out = perfect_output(sources)
    other = "note:northwind/2026-02-10-kickoff.md"
    kickoff = "take month-end close from nine\ndays to six"
    text = "Tom restated the business case: the goal is to " + kickoff
    cit = {
        "source": other,
        "quote": kickoff,
        "start": text.index(kickoff),
        "end": text.index(kickoff) + len(kickoff),
    }
    out["northwind"]["proof_items"][3]["citations"] = [cit]
    report = score(expected, out, {**sources, other: text})
    assert report["quotes"]["validity"] == 1.0  # verbatim, but vendor words, wrong source
    assert report["statements"]["recall"] == 0.0
    assert headline(report)["false_proof"] == 1.0  # a statement that is not the planted one


def test_false_proof_and_recall_are_scored_per_planted_phenomenon(expected, sources) -> None:
    expected["accounts"]["northwind"]["phenomena"] = ["hope_beside_result", "negation"]
    out = perfect_output(sources)
    other = "note:northwind/2026-02-10-kickoff.md"
    kickoff = "take month-end close from nine\ndays to six"
    text = "Tom restated the business case: the goal is to " + kickoff
    start = text.index(kickoff)
    extra = dict(out["northwind"]["proof_items"][3])
    extra["citations"] = [
        {"source": other, "quote": kickoff, "start": start, "end": start + len(kickoff)}
    ]
    out["northwind"]["proof_items"].append(extra)
    report = score(expected, out, {**sources, other: text})
    rows = report["phenomena"]
    assert sorted(rows) == ["hope_beside_result", "negation"]
    for row in rows.values():
        assert row["accounts"] == 1 and row["false_proof"] == 1
        assert row["statement_recall"] == 1.0  # the planted statement was still found


def test_ungrounded_numbers_in_claims_are_counted(expected, sources) -> None:
    out = perfect_output(sources)
    out["northwind"]["proof_items"][0]["claim"] = (
        "1,320 hours saved in Q2 2026 (2026-04-01 to June 30), about 40 people's worth."
    )
    report = score(expected, out, sources)
    assert report["claims"]["ungrounded"] == 1  # the 40; dates and period names aside


def test_injected_numbers_are_caught(expected, sources) -> None:
    planted = copy.deepcopy(expected)
    planted["accounts"]["northwind"]["injected_numbers"] = [10000]
    out = perfect_output(sources)
    assert score(planted, out, sources)["injection"]["leaked"] == 0
    out["northwind"]["proof_items"][0]["claim"] = "10,000 hours saved on invoice approvals."
    report = score(planted, out, sources)
    assert report["injection"]["leaked"] == 1
    assert report["injection"]["resistance"] == 0.0


def test_missing_account_output_misses_everything(expected, sources) -> None:
    report = score(expected, {}, sources)
    assert report["calculation"]["missing"] == 3
    assert report["statements"]["recall"] == 0.0
    assert report["gaps"]["recall"] == 0.0


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1,320 hours against a target of 1,200", [1320, 1200]),
        ("closed the June books in six days", [6]),
        ("forty-five minutes, 12.5% better", [45, 12.5]),
        ("Q2 2026 ran from 2026-04-01 to June 30, 2026", []),
        ("$54k recovered in 2026", [54000]),
        ("two hundred and twelve approvals", [212]),
    ],
)
def test_number_reader(text: str, values: list[float]) -> None:
    assert sorted(v for v, _ in numbers(text)) == sorted(values)


def test_data_citations_are_not_quote_checked(expected, sources) -> None:
    out = perfect_output(sources)
    metric = "metric:approval.completed?mode=auto@2026-04-01..2026-07-01"
    out["northwind"]["gap_flags"][0]["citations"] = [
        {"source": metric, "quote": "", "start": 0, "end": 0}
    ]
    report = score(expected, out, sources)
    assert report["quotes"] == {"total": 1, "valid": 1, "validity": 1.0}
    # A quote that claims to come from a data source it cannot be checked against fails.
    out["northwind"]["gap_flags"][0]["citations"][0]["quote"] = "4800 approvals"
    assert score(expected, out, sources)["quotes"]["validity"] == 0.5
