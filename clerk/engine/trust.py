"""Numbers a finance reader can trust: rules over a draft and the calculation it stands by.

Pure functions, each returning the sentences a reviewer reads (empty: nothing to say).

- :func:`disagreement`: a customer statement whose number is more than ``tolerance_pct``
  away from the calculated value of the same outcome and period is not confirmation of it.
  "we saved 77,777 hours" next to a calculated 1,320 is either a different measure, a typo
  or text planted to be quoted; either way a reviewer must look before it is approvable.
  Apart is measured against the calculated value: |stated - calculated| / |calculated|.
- :func:`attainment_warning`: attainment above ``bound_pct`` (default 300 %) is more often a
  wrong target, unit or filter than a triumph; the item keeps its number but drops to low
  confidence with the reason, so the reviewer checks it before it reaches a packet.
"""

from __future__ import annotations

import math

from clerk.domain.format import claim_number
from clerk.domain.models import ProofItem

# Verification errors that start with this are the screening's, so an edit keeps them.
SCREEN_PREFIX = "not drafted as confirmation: "


def disagreement(
    stated: float | None, calculated: float | None, unit: str, period: str, tolerance_pct: float
) -> str | None:
    """The reason a stated number cannot confirm the calculated one, or None."""
    if stated is None or calculated is None:
        return None
    if not math.isfinite(stated):
        return f"{SCREEN_PREFIX}the stated value is not a finite number"
    if calculated == 0:
        apart = 0.0 if stated == 0 else math.inf
    else:
        apart = abs(stated - calculated) / abs(calculated) * 100
    if apart <= tolerance_pct:
        return None
    return (
        f"{SCREEN_PREFIX}the customer states {claim_number(stated)} {unit}, the calculation "
        f"gives {claim_number(calculated)} {unit} for {period} (more than "
        f"{claim_number(tolerance_pct)} % apart)"
    )


def attainment_warning(item: ProofItem, bound_pct: float) -> str | None:
    """The reason an item's attainment needs a second look, or None."""
    if item.attainment is None:
        return None
    if not math.isfinite(item.attainment):
        return "attainment is not a finite number"
    if item.attainment * 100 <= bound_pct:
        return None
    return (
        f"attainment {claim_number(item.attainment * 100)} % is above the "
        f"{claim_number(bound_pct)} % sanity bound: check the target, unit and data"
    )


def flag_attainment(item: ProofItem, bound_pct: float) -> ProofItem:
    """``item`` at low confidence with the reason when its attainment is beyond belief."""
    reason = attainment_warning(item, bound_pct)
    if reason is None:
        return item
    reasons = [r for r in item.confidence_reasons if not r.startswith("every input")]
    return item.model_copy(update={"confidence": "low", "confidence_reasons": [*reasons, reason]})
