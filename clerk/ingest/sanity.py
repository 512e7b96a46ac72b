"""Value-case numbers that would give false or silent results, refused at ingest.

Each problem is ``(YAML path, message)`` like ``check_value_case``'s, so it is reported with
file, line and field. What is refused, and why:

- an assumption, target, baseline, investment or forecast that is ``.inf`` / ``.nan``: every
  figure computed from it would be "inf hours" or "$nan";
- a negative target: attainment against it reads as a sign flip, never as "missed";
- ``payback.investment`` of zero or less: "pays back in 0 months" is false;
- a negative ``forecast_months``.
"""

from __future__ import annotations

import math

from clerk.domain.models import ValueCase

Path_ = list[str | int]


def _finite(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def value_case_problems(value_case: ValueCase) -> list[tuple[Path_, str]]:
    """Numbers in a value case that cannot give a true figure."""
    problems: list[tuple[Path_, str]] = []
    for i, outcome in enumerate(value_case.outcomes):
        at: Path_ = ["outcomes", i]
        label = f"outcome {outcome.id}"
        for name in ("target", "baseline"):
            value = getattr(outcome, name)
            if not _finite(value):
                problems.append(([*at, name], f"{label}: {name} must be a finite number"))
        if outcome.target is not None and outcome.target < 0:
            problems.append(
                ([*at, "target"], f"{label}: target {outcome.target:g} is negative; "
                 "state the amount and set direction: decrease instead")
            )  # fmt: skip
        for item in outcome.inputs:
            if item.assumption is not None and not math.isfinite(item.assumption):
                problems.append(
                    ([*at, "inputs", item.name, "assumption"],
                     f"{label}: assumption {item.name} must be a finite number")
                )  # fmt: skip
    payback = value_case.payback
    if payback is not None:
        if payback.investment is not None and not (
            math.isfinite(payback.investment) and payback.investment > 0
        ):
            problems.append(
                (["payback", "investment"],
                 f"investment must be a positive amount (got {payback.investment:g})")
            )  # fmt: skip
        if payback.forecast_months is not None and not (
            math.isfinite(payback.forecast_months) and payback.forecast_months > 0
        ):
            problems.append(
                (["payback", "forecast_months"],
                 f"forecast_months must be a positive number (got {payback.forecast_months:g})")
            )  # fmt: skip
    return problems
