"""The verifier: a draft is shown as verified only when everything it says can be checked.

Pure functions over domain objects. Each returns a list of refusals in plain sentences (an
empty list means verified), so the review queue can say exactly what failed:
- every quote is the source's text at the citation's offsets, from a source of this account;
- every number in a claim (dates and period names aside) is a value of the item's
  calculation, its target, or is stated in one of its quotes;
- a customer statement quotes the customer's own words and states the delivered number;
- and (``statement_stance_errors``) it is a result the customer asserts: the delivered value
  is the number bound to the outcome's unit in an achieved-result clause of the sentence the
  quote comes from, never a hope, plan, target, baseline, question, conditional, guess,
  negation or complaint (clerk.domain.stance), whichever drafter wrote it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from clerk.domain.format import number
from clerk.domain.models import Calculation, Citation, Period, ProofItem, Source
from clerk.domain.periods import MONTH_NAMES
from clerk.domain.stance import Reading, read_statement
from clerk.domain.textnum import NumberMention, numbers_in

__all__ = [
    "allowed_numbers",
    "allowed_values",
    "claim_numbers",
    "grounded",
    "statement_reading",
    "statement_stance_errors",
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


def allowed_values(
    *,
    delivered: float | None,
    target: float | None,
    attainment: float | None,
    calculation: Calculation | None,
    forecast: float | None = None,
) -> list[float]:
    """The values a claim may state besides its quotes: the one rule of the verifier and guard.

    FORMATS: "every number in a claim is a value of the item's calculation, its target, or
    appears in one of its quotes". So: delivered, target, a payback's forecast, attainment
    (also as a percentage, 1.1 -> 110, since that is how it is said), the calculation's result
    and input values. The outcome's baseline is not among them: it is what the customer agreed
    to start from, not proof of what was delivered, and a claim that states it must quote it.
    """
    values: list[float | None] = [delivered, target, forecast]
    if attainment is not None:
        values += [attainment, attainment * 100]
    if calculation is not None:
        values.append(calculation.result)
        values += [i.value for i in calculation.inputs]
    return [float(v) for v in values if v is not None]


def allowed_numbers(item: ProofItem) -> list[float]:
    """The values ``item``'s claim may state besides its quotes (:func:`allowed_values`)."""
    return allowed_values(
        delivered=item.delivered,
        target=item.target,
        attainment=item.attainment,
        calculation=item.calculation,
        forecast=item.forecast,
    )


def verify_item(item: ProofItem, sources: Mapping[str, Source]) -> list[str]:
    """Every refusal for a drafted proof item; an empty list means it is verified."""
    errors: list[str] = []
    for citation in item.citations:
        errors += verify_citation(citation, sources, item.account)
    if item.kind == "customer_statement":
        errors += _customer_statement_errors(item, sources)
        errors += statement_stance_errors(item, sources)
    calc = item.calculation
    if (
        calc is not None
        and calc.result is not None
        and item.delivered is not None
        and abs(calc.result - item.delivered) > 1e-6 * max(1.0, abs(calc.result))
    ):
        errors.append(
            f"delivered {number(item.delivered)} differs from the calculation's "
            f"result {number(calc.result)}"
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
                f"delivered {number(item.delivered)} is not stated in any quote of the customer"
            )
    return errors


# --- stance: a customer statement is a result the customer asserts -------------------------

_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")


def _sentence_around(source: Source, start: int, end: int) -> tuple[int, int]:
    """The sentence of the customer's words that holds ``start..end`` (clipped to the
    customer span it is in, so "Priya said" around a quote is not read as hers)."""
    lo, hi = 0, len(source.text)
    for span in source.customer_spans:
        if span.start <= start and end <= span.end:
            lo, hi = span.start, span.end
            break
    text = source.text
    cut = lo
    for m in _SENTENCE_END.finditer(text, lo, hi):
        if m.end() <= start:
            cut = m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    while cut < start and text[cut].isspace():
        cut += 1
    return cut, hi


def statement_reading(
    item: ProofItem, sources: Mapping[str, Source]
) -> tuple[Reading, Citation] | None:
    """The stance reading of the sentence each quote of ``item`` comes from: the first that
    asserts the item's delivered value inside the quote, else the first reading (for its
    reason); None when no quote can be read (unknown source, shifted offsets)."""
    first: tuple[Reading, Citation] | None = None
    for c in item.citations:
        source = sources.get(c.source)
        if source is None or source.account_id != item.account:
            continue
        if source.text[c.start : c.end] != c.quote:
            continue
        lo, hi = _sentence_around(source, c.start, c.end)
        sentence = source.text[lo:hi]
        ending = source.text[hi : hi + 3].lstrip(" \t\"”'")[:1]
        reading = read_statement(sentence.rstrip(), item.unit or "", question=ending == "?")
        first = first or (reading, c)
        m = reading.mention
        if (
            reading.is_proof
            and m is not None
            and c.start <= lo + m.start < c.end
            and item.delivered is not None
            and grounded(m, [item.delivered])
        ):
            return reading, c
    return first


def statement_stance_errors(item: ProofItem, sources: Mapping[str, Source]) -> list[str]:
    """Refusals for a customer statement that is not a result asserted for the outcome."""
    if item.kind != "customer_statement":
        return []
    unit = item.unit or "its unit"
    if item.delivered is None:
        return [
            f"a customer statement is proof only when it states a value in {unit}; "
            "this one states none"
        ]
    found = statement_reading(item, sources)
    if found is None:
        return []  # the citation errors already say why no quote could be read
    reading, citation = found
    m = reading.mention
    if reading.is_proof and m is not None and grounded(m, [item.delivered]):
        return []
    if reading.is_proof:
        return [
            f"the customer's sentence in {citation.source} states "
            f"{number(reading.value or 0)} {unit} as the result, not "
            f"{number(item.delivered)}"
        ]
    return [f"the quote in {citation.source} is not a delivered result: {reading.reason}"]
