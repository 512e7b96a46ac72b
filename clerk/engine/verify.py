"""The verifier: a draft is shown as verified only when everything it says can be checked.

Pure functions over domain objects. Each returns a list of refusals in plain sentences (an
empty list means verified), so the review queue can say exactly what failed:
- every quote is the source's text at the citation's offsets, from a source of this account;
- every number in a claim (dates and period names aside) is a value of the item's
  calculation, its target, or is stated in one of its quotes;
- a customer statement quotes the customer's own words and states the delivered number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from clerk.domain.models import Citation, Period, ProofItem, Source
from clerk.domain.periods import MONTH_NAMES
from clerk.domain.textnum import NumberMention, format_number, numbers_in

__all__ = [
    "allowed_numbers",
    "claim_numbers",
    "grounded",
    "verify_citation",
    "verify_claim",
    "verify_item",
    "without_period_names",
]


def verify_citation(
    citation: Citation, sources: Mapping[str, Source], account_id: str
) -> list[str]:
    """Refusals for one citation: unknown or foreign source, empty quote, quote not at offsets."""
    errors: list[str] = []
    if not citation.quote.strip():
        errors.append(f"the citation of {citation.source} has an empty quote")
    source = sources.get(citation.source)
    if source is None:
        errors.append(f"source {citation.source} is unknown")
        return errors
    if source.account_id != account_id:
        errors.append(f"source {citation.source} belongs to another account")
        return errors
    if citation.quote and source.text[citation.start : citation.end] != citation.quote:
        where = f"{citation.start}..{citation.end}"
        message = f"quote not found at {where} in {citation.source}"
        found = source.text.find(citation.quote)
        if found >= 0:
            # Saying where it is makes a shifted offset easy to tell from an invented quote.
            message += f" (it appears at {found}..{found + len(citation.quote)})"
        elif citation.quote.strip():
            message += " (it does not appear in the source)"
        errors.append(message)
    return errors


def claim_numbers(text: str) -> list[float]:
    """The numbers a claim states, dates and period names ("Q2 2026", "June 2026") aside."""
    return [m.value for m in numbers_in(text)]


def grounded(mention: NumberMention, candidates: Iterable[float]) -> bool:
    """True when ``mention`` states one of ``candidates`` at the precision it is written in.

    "4.85" grounds 4.8485 and "1,320" grounds 1320.0, but "1,300" does not ground 1320:
    a number is taken as exact to its last digit shown (half a step either way).
    """
    for value in candidates:
        slack = mention.step / 2 + 1e-9 * max(1.0, abs(value))
        if abs(mention.value - value) <= slack:
            return True
    return False


def verify_claim(claim: str, allowed_numbers: Iterable[float], quotes: Sequence[str]) -> list[str]:
    """Refusals for the numbers in ``claim`` that are neither allowed nor stated in a quote."""
    allowed = list(allowed_numbers)
    quoted = [m.value for quote in quotes for m in numbers_in(quote)]
    errors: list[str] = []
    for mention in numbers_in(claim):
        if grounded(mention, allowed) or grounded(mention, quoted):
            continue
        message = (
            f"number {mention.text} in the claim is not grounded in the calculation or a quote"
        )
        if message not in errors:
            errors.append(message)
    return errors


def allowed_numbers(item: ProofItem) -> list[float]:
    """The values an item's claim may state: its calculation, delivered, target and so on.

    Attainment is also allowed as a percentage (1.1 -> 110), since that is how it is said.
    """
    values: list[float | None] = [item.delivered, item.target, item.forecast]
    if item.attainment is not None:
        values += [item.attainment, item.attainment * 100]
    if item.calculation is not None:
        values.append(item.calculation.result)
        values += [i.value for i in item.calculation.inputs]
    baseline = getattr(item, "baseline", None)  # not a ProofItem field today; honour it if added
    if isinstance(baseline, int | float):
        values.append(float(baseline))
    return [float(v) for v in values if v is not None]


def verify_item(item: ProofItem, sources: Mapping[str, Source]) -> list[str]:
    """Every refusal for a drafted proof item; an empty list means it is verified."""
    errors: list[str] = []
    for citation in item.citations:
        errors += verify_citation(citation, sources, item.account)
    if item.kind == "customer_statement":
        errors += _customer_statement_errors(item, sources)
    calc = item.calculation
    if (
        calc is not None
        and calc.result is not None
        and item.delivered is not None
        and abs(calc.result - item.delivered) > 1e-6 * max(1.0, abs(calc.result))
    ):
        errors.append(
            f"delivered {format_number(item.delivered)} differs from the calculation's "
            f"result {format_number(calc.result)}"
        )
    quotes = [c.quote for c in item.citations]
    errors += verify_claim(
        without_period_names(item.claim, item.period, item.unit), allowed_numbers(item), quotes
    )
    return errors


def without_period_names(claim: str, period: Period | None, unit: str | None = None) -> str:
    """``claim`` with the item's own period named blank: "the 2025 rate", "Q2 2026", "FY2026",
    "June 2026" are when, not how much, whichever period kind the outcome reports on.

    A name followed by the item's unit ("2025 months") is a quantity and stays.
    Blanks keep the claim's length, so offsets in messages still point at the claim.
    """
    quantity = rf"|\s*{re.escape(unit)}\b" if unit else ""
    if period is None:
        return claim
    names = {period.label} if period.label else set()
    for day in (period.start, period.end - dt.timedelta(days=1)):
        year = day.year
        names |= {
            f"FY{year}", f"FY {year}", f"FY{year % 100:02d}", f"{year}",
            f"Q{(day.month - 1) // 3 + 1} {year}", f"H{1 if day.month <= 6 else 2} {year}",
            f"{MONTH_NAMES[day.month - 1]} {year}",
        }  # fmt: skip
    for name in sorted((n for n in names if n), key=len, reverse=True):
        claim = re.sub(
            rf"(?<![\w.,$€£]){re.escape(name)}(?![\w%]|[.,]\d{quantity})", " " * len(name), claim
        )
    return claim


def _customer_statement_errors(item: ProofItem, sources: Mapping[str, Source]) -> list[str]:
    errors: list[str] = []
    if not item.citations:
        errors.append("a customer statement must quote the customer, but it cites nothing")
    for c in item.citations:
        source = sources.get(c.source)
        if source is None or source.account_id != item.account:
            continue  # already refused by verify_citation
        if source.text[c.start : c.end] == c.quote and not source.is_customer_text(c.start, c.end):
            errors.append(
                f"the quote at {c.start}..{c.end} in {c.source} is not the customer's own words"
            )
    if item.delivered is not None:
        stated = [m for c in item.citations for m in numbers_in(c.quote)]
        if not any(grounded(m, [item.delivered]) for m in stated):
            errors.append(
                f"delivered {format_number(item.delivered)} is not stated in any quote of the "
                "customer"
            )
    return errors
