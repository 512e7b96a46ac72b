"""Every gap kind of FORMATS §8: when it is raised, when not, and what it says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clerk.domain.models import Account, Citation, ProofItem, SignalDraft, ValueCase
from clerk.engine.calculations import evaluate_value_case
from clerk.engine.gaps import (
    OutcomeEvidence,
    SharedPacket,
    Thresholds,
    raise_gaps,
    unconfirmed_share,
)
from tests.engine.test_calculations import fetch_from

AS_OF = dt.date(2026, 7, 1)
Q2, Q1 = "2026-04-01", "2026-01-01"


def account(**changes: Any) -> Account:
    data = {
        "id": "acme",
        "name": "Acme",
        "csm": "dana@vendor.example",
        "champion": {"name": "Priya Raman"},
        "contract": {"start": "2026-01-01"},
    }
    return Account.model_validate({**data, **changes})  # fmt: skip


def outcome(oid: str, **changes: Any) -> dict[str, Any]:
    base = {"id": oid, "title": oid.title(), "category": "cost", "unit": "hours", "target": 100,
            "formula": "m * k",
            "inputs": [{"name": "m", "metric": f"{oid}.evt", "aggregation": "count"},
                       {"name": "k", "assumption": 1, "source": "Study"}]}  # fmt: skip
    return {**base, **changes}


REPORTED = {"id": "close", "title": "Days to close", "category": "productivity", "unit": "days",
            "direction": "decrease", "target": 6, "evidence": "customer_reported"}  # fmt: skip


def statement(delivered: float | None, day: dt.date, source: str = "note:acme/a.md") -> tuple:
    item = ProofItem(id="pi_s", account="acme", outcome="close", kind="customer_statement",
                     claim="c", delivered=delivered,
                     citations=[Citation(source=source, quote="q", start=0, end=1)])  # fmt: skip
    return item, {source: dt.datetime.combine(day, dt.time())}


def run(
    outcomes: list[dict[str, Any]],
    metrics: dict[Any, Any],
    *,
    acct: Account | None = None,
    source: str | None = "Business case",
    statements: dict[str, tuple] | None = None,
    signals: dict[str, list[SignalDraft]] | None = None,
    limits: Thresholds | None = None,
) -> list[tuple[str | None, str]]:
    acct = acct or account()
    vc = ValueCase.model_validate({"account_id": "acme", "source": source, "outcomes": outcomes})
    results = evaluate_value_case(acct, vc, AS_OF, fetch_from(metrics))
    evidence = {}
    for oid, result in results.items():
        found = OutcomeEvidence(result=result, calculation_verified=result.computed)
        if statements and oid in statements:
            item, dates = statements[oid]
            found.statements, found.statement_dates = [item], dates
        found.signals = (signals or {}).get(oid, [])
        evidence[oid] = found
    flags = raise_gaps(acct, vc, AS_OF, evidence, limits)
    for flag in flags:  # every flag is actionable and owned
        assert flag.message and flag.next_action and flag.risk
        assert flag.owner == acct.csm
        assert flag.id.startswith("gf_")
    return [(f.outcome, f.kind) for f in flags]


FULL = {("a.evt", Q2): (100.0, 100), ("a.evt", Q1): (100.0, 100)}

CASES: list[tuple[str, dict[str, Any], list[tuple[str | None, str]]]] = [
    ("on target: nothing", {"outcomes": [outcome("a")], "metrics": FULL}, []),
    ("no events: no_evidence",
     {"outcomes": [outcome("a")], "metrics": {}}, [("a", "no_evidence")]),
    ("division by zero: no_evidence",
     {"outcomes": [outcome("a", formula="m / (k - 1)")], "metrics": FULL}, [("a", "no_evidence")]),
    ("short of target: under_delivery",
     {"outcomes": [outcome("a")],
      "metrics": {("a.evt", Q2): (99.0, 99), ("a.evt", Q1): (99.0, 99)}},
     [("a", "under_delivery")]),
    ("decrease outcome above target: under_delivery",
     {"outcomes": [outcome("a", direction="decrease", target=50)], "metrics": FULL},
     [("a", "under_delivery")]),
    ("decrease outcome below target: fine",
     {"outcomes": [outcome("a", direction="decrease", target=150)], "metrics": FULL}, []),
    ("drop exactly at the threshold counts",
     {"outcomes": [outcome("a", target=70)],
      "metrics": {("a.evt", Q2): (70.0, 70), ("a.evt", Q1): (100.0, 100)}}, [("a", "usage_drop")]),
    ("drop just under the threshold does not",
     {"outcomes": [outcome("a", target=70)],
      "metrics": {("a.evt", Q2): (70.1, 70), ("a.evt", Q1): (100.0, 100)}}, []),
    ("drop with a custom threshold",
     {"outcomes": [outcome("a", target=70)], "limits": Thresholds(usage_drop_pct=50),
      "metrics": {("a.evt", Q2): (70.0, 70), ("a.evt", Q1): (100.0, 100)}}, []),
    ("no period before: no drop",
     {"outcomes": [outcome("a")], "metrics": {("a.evt", Q2): (100.0, 100)}}, []),
    ("assumption without any source: unverified_assumption",
     {"outcomes": [outcome("a", inputs=[{"name": "m", "metric": "a.evt"},
                                        {"name": "k", "assumption": 1}])],
      "metrics": FULL, "source": None}, [("a", "unverified_assumption")]),
    ("assumption with the value case's source: fine",
     {"outcomes": [outcome("a", inputs=[{"name": "m", "metric": "a.evt"},
                                        {"name": "k", "assumption": 1}])],
      "metrics": FULL}, []),
    ("customer-reported without statement: no_evidence",
     {"outcomes": [REPORTED], "metrics": {}}, [("close", "no_evidence")]),
    ("customer-reported with a fresh statement on target: fine",
     {"outcomes": [REPORTED], "metrics": {},
      "statements": {"close": statement(6, dt.date(2026, 6, 12))}}, []),
    ("statement 90 days old is not stale",
     {"outcomes": [REPORTED], "metrics": {},
      "statements": {"close": statement(6, AS_OF - dt.timedelta(days=90))}}, []),
    ("statement 91 days old is stale",
     {"outcomes": [REPORTED], "metrics": {},
      "statements": {"close": statement(6, AS_OF - dt.timedelta(days=91))}},
     [("close", "stale_evidence")]),
    ("statement above a decrease target: under_delivery",
     {"outcomes": [REPORTED], "metrics": {},
      "statements": {"close": statement(8, dt.date(2026, 6, 12))}}, [("close", "under_delivery")]),
    ("negative signal is raised with its citation",
     {"outcomes": [outcome("a")], "metrics": FULL,
      "signals": {"a": [SignalDraft(reason="It broke", citations=[
          Citation(source="ticket:1#1", quote="broke", start=0, end=5)])]}},
     [("a", "negative_signal")]),
    ("no CSM: no_owner",
     {"outcomes": [outcome("a")], "metrics": FULL, "acct": account(csm=None)},
     [(None, "no_owner")]),
    ("only adoption outcomes proven: usage_proxy_only",
     {"outcomes": [outcome("a", category="adoption"), REPORTED], "metrics": FULL},
     [("close", "no_evidence"), (None, "usage_proxy_only")]),
    ("adoption beside a proven business outcome: fine",
     {"outcomes": [outcome("a", category="adoption"), outcome("b")],
      "metrics": {**FULL, ("b.evt", Q2): (100.0, 100)}}, []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_gap_rules(name: str, spec: dict[str, Any], expected: list[tuple[str | None, str]]) -> None:
    assert run(spec.pop("outcomes"), spec.pop("metrics"), **spec) == expected


def test_usage_drop_cites_both_periods_and_says_how_much() -> None:
    acct = account()
    vc = ValueCase.model_validate({"account_id": "acme", "outcomes": [outcome("a", target=50)]})
    metrics = {("a.evt", Q2): (50.0, 50), ("a.evt", Q1): (100.0, 100)}
    results = evaluate_value_case(acct, vc, AS_OF, fetch_from(metrics))
    found = {"a": OutcomeEvidence(result=results["a"], calculation_verified=True)}
    (flag,) = raise_gaps(acct, vc, AS_OF, found)
    assert flag.kind == "usage_drop" and flag.severity == "medium"
    assert flag.citations == []
    assert flag.sources == [
        "metric:a.evt@2026-01-01..2026-04-01",
        "metric:a.evt@2026-04-01..2026-07-01",
    ]
    assert "50 %" in flag.message and "100 to 50" in flag.message


def test_gap_ids_are_stable_and_do_not_depend_on_the_numbers() -> None:
    a = run([outcome("a")], {("a.evt", Q2): (90.0, 90)})
    b = run([outcome("a")], {("a.evt", Q2): (80.0, 80)})
    assert a == b == [("a", "under_delivery")]
    acct = account()
    vc = ValueCase.model_validate({"account_id": "acme", "outcomes": [outcome("a")]})
    ids = []
    for value in (90.0, 80.0):
        results = evaluate_value_case(acct, vc, AS_OF, fetch_from({("a.evt", Q2): (value, 90)}))
        found = {"a": OutcomeEvidence(result=results["a"], calculation_verified=True)}
        ids.append(raise_gaps(acct, vc, AS_OF, found)[0].id)
    assert ids[0] == ids[1]


def test_severity_cut_and_due_days_come_from_the_thresholds() -> None:
    acct = account()
    vc = ValueCase.model_validate({"account_id": "acme", "outcomes": [outcome("a")]})
    results = evaluate_value_case(acct, vc, AS_OF, fetch_from({("a.evt", Q2): (70.0, 70)}))
    found = {"a": OutcomeEvidence(result=results["a"], calculation_verified=True)}
    (default,) = raise_gaps(acct, vc, AS_OF, found)
    assert (default.severity, default.due_date) == ("high", AS_OF + dt.timedelta(days=7))
    limits = Thresholds(severe_attainment=0.5, due_days_medium=3)
    (relaxed,) = raise_gaps(acct, vc, AS_OF, found, limits)
    assert (relaxed.severity, relaxed.due_date) == ("medium", AS_OF + dt.timedelta(days=3))


def test_few_events_is_a_parameter_of_the_evaluation() -> None:
    acct = account()
    vc = ValueCase.model_validate({"account_id": "acme", "outcomes": [outcome("a")]})
    metrics = {("a.evt", Q2): (120.0, 8)}
    low = evaluate_value_case(acct, vc, AS_OF, fetch_from(metrics))["a"]
    assert low.confidence[0] == "low" and "only 8 events" in " ".join(low.confidence[1])
    fine = evaluate_value_case(acct, vc, AS_OF, fetch_from(metrics), few_events=5)["a"]
    assert "only 8 events" not in " ".join(fine.confidence[1])


# --- unconfirmed_by_customer (issue 16) -------------------------------------------------------

D = dt.timedelta
SHARE_CASES = [
    ("nothing shared", [], None),
    ("shared 14 days ago, no answer", [SharedPacket(1, AS_OF - D(days=14))], 1),
    ("shared 13 days ago, no answer: not yet", [SharedPacket(1, AS_OF - D(days=13))], None),
    ("answered", [SharedPacket(1, AS_OF - D(days=30), AS_OF - D(days=2))], None),
    ("answered only after as-of", [SharedPacket(1, AS_OF - D(days=30), AS_OF + D(days=2))], 1),
    ("shared after as-of", [SharedPacket(1, AS_OF + D(days=1))], None),
    ("old one answered, newest unanswered",
     [SharedPacket(1, AS_OF - D(days=60), AS_OF - D(days=50)), SharedPacket(2, AS_OF - D(days=20))],
     2),
    ("old one unanswered, newest answered",
     [SharedPacket(1, AS_OF - D(days=60)), SharedPacket(2, AS_OF - D(days=20), AS_OF - D(days=1))],
     None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "shares", "version"), SHARE_CASES, ids=[c[0] for c in SHARE_CASES]
)
def test_unconfirmed_share(name: str, shares: list[SharedPacket], version: int | None) -> None:
    found = unconfirmed_share(shares, AS_OF, 14)
    assert (found.version if found else None) == version


def test_unconfirmed_by_customer_is_an_account_gap_with_action_and_risk() -> None:
    acct = account()
    vc = ValueCase.model_validate({"account_id": "acme", "outcomes": []})
    shares = [SharedPacket(3, dt.date(2026, 6, 1))]
    (flag,) = raise_gaps(acct, vc, AS_OF, {}, Thresholds(unconfirmed_days=14), shares)
    assert (flag.kind, flag.outcome, flag.severity) == ("unconfirmed_by_customer", None, "medium")
    assert flag.message == (
        "Packet version 3 was shared with the customer on 2026-06-01 and has had no answer in "
        "30 days."
    )
    assert flag.next_action.startswith("Ask Priya Raman to confirm or question each item")
    assert "not the champion's" in flag.risk
    assert flag.owner == "dana@vendor.example"
    assert raise_gaps(acct, vc, AS_OF, {}, Thresholds(unconfirmed_days=31), shares) == []


@pytest.mark.parametrize(
    ("months", "margin", "expected"),
    [
        (9.0, 25.0, None),  # on forecast
        (11.25, 25.0, None),  # exactly the margin later: still within it
        (12.0, 25.0, "medium"),
        (18.0, 25.0, "high"),  # twice the forecast
        (130.6, 25.0, "high"),  # the account
        (12.0, 50.0, None),  # a wider margin from settings
    ],
)
def test_payback_behind_forecast(months: float, margin: float, expected: str | None) -> None:
    from clerk.domain.models import Period
    from clerk.engine.calculations import OutcomeResult, PaybackResult

    acct = account()
    vc = ValueCase.model_validate(
        {"account_id": "acme", "outcomes": [], "payback": {"benefit": "a", "forecast_months": 9}}
    )
    q2 = Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026")
    benefit = OutcomeResult(outcome=ValueCase.model_validate(
        {"account_id": "acme", "outcomes": [outcome("a", title="Labour cost recovered")]}
    ).outcomes[0], period=q2, delivered=1000.0)  # fmt: skip
    payback = PaybackResult(benefit, 96000, "Contract", months, 9.0)
    flags = raise_gaps(acct, vc, AS_OF, {}, Thresholds(payback_margin_pct=margin), payback=payback)
    found = [f for f in flags if f.kind == "payback_behind_forecast"]
    if expected is None:
        assert found == []
        return
    (flag,) = found
    assert (flag.outcome, flag.severity, flag.owner) == (None, expected, "dana@vendor.example")
    assert "later than the forecast of 9 months" in flag.message
    assert "Q2 2026 rate of labour cost recovered" in flag.message
    assert flag.next_action.startswith("Review with Priya Raman") and flag.risk
    assert flag.due_date == AS_OF + dt.timedelta(days=7 if expected == "high" else 14)
