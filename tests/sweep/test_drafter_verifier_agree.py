"""The drafter never words a claim its own verifier fails, over generated accounts.

Generated accounts carry every period kind (month, quarter, year, contract), payback and
customer statements; the sweep drafts them at as-of dates that land in different periods and
years. Every item the clerk drafted must pass clerk.engine.verify as it was stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clerk.domain.models import Period, ProofItem
from clerk.engine.calculations import PaybackResult, payback_claim
from clerk.engine.verify import verify_claim, without_period_names
from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import ProofItemRow
from clerk.sweep.run import run_sweep
from evals.generator import generate


@settings(
    max_examples=4,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    months_later=st.integers(min_value=0, max_value=7),
    day=st.sampled_from([1, 2, 15]),
)
def test_no_clerk_drafted_claim_fails_verification(
    tmp_path_factory: object, seed: int, months_later: int, day: int
) -> None:
    base = Path(tmp_path_factory.mktemp("gen"))  # type: ignore[attr-defined]
    generate(base / "data", 3, seed=seed, as_of=dt.date(2026, 1, 1))
    store = Store(f"sqlite:///{base / 'clerk.db'}")
    try:
        run_ingest(base / "data", store)
        month = 1 + months_later
        as_of = dt.date(2026, month, day)
        report = run_sweep(store, as_of=as_of)
        assert not report.failed
        with store.session() as session:
            rows = session.scalars(select(ProofItemRow)).all()
            failed = [
                (r.account_id, r.payload["claim"], r.payload.get("verification_errors"))
                for r in rows
                if r.status == "unverified"
            ]
        assert rows, "the sweep drafted nothing"
        assert failed == [], f"clerk-drafted claims its verifier fails at {as_of}: {failed}"
    finally:
        store.close()


def test_a_payback_at_a_year_rate_verifies() -> None:
    """The case from the issue: "At the 2025 rate of ..." must not be read as 2025 of something."""
    from clerk.domain.models import Outcome
    from clerk.engine.calculations import OutcomeResult

    year = Period(start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1), label="2025")
    outcome = Outcome(id="rev", title="Revenue recovered", category="revenue", unit="USD")
    benefit = OutcomeResult(outcome=outcome, period=year, delivered=8816.0)
    payback = PaybackResult(benefit, 96000, "Contract annual value", 130.6, 9.0)
    claim = payback_claim(payback)
    assert "2025" in claim
    item = ProofItem(
        id="pi_x", account="a", outcome=None, kind="payback", claim=claim, period=year,
        delivered=130.6, forecast=9.0, unit="months", calculation=payback.calculation,
    )  # fmt: skip
    from clerk.engine.verify import allowed_numbers

    stripped = without_period_names(claim, year, "months")
    assert verify_claim(stripped, allowed_numbers(item), []) == []
    # a year-sized quantity in the item's unit is still a number to check
    assert verify_claim(
        without_period_names("It takes 2025 months to pay back.", year, "months"),
        allowed_numbers(item),
        [],
    ) == ["number 2025 in the claim is not grounded in the calculation or a quote"]
