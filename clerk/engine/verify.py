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
- a claim says something: it is a sentence, it does not echo the drafting instructions, it
  does not assert the opposite of the computed attainment; a calculation claim states the
  delivered value with its unit and names the outcome; a statement claim contains its quote
  (``claim_substance_errors`` and the functions it is made of).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

from clerk.domain.format import number
from clerk.domain.models import Calculation, Citation, Outcome, Period, ProofItem, Source
from clerk.domain.periods import MONTH_NAMES
from clerk.domain.stance import COMPLAINT, Reading, is_complaint, read_statement
from clerk.domain.textnum import NumberMention, numbers_in

__all__ = [
    "allowed_numbers",
    "allowed_values",
    "calculation_claim_errors",
    "claim_numbers",
    "claim_substance_errors",
    "echo_errors",
    "polarity_errors",
    "sentence_errors",
    "statement_quote_errors",
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


def verify_item(
    item: ProofItem, sources: Mapping[str, Source], outcome: Outcome | None = None
) -> list[str]:
    """Every refusal for a drafted proof item; an empty list means it is verified.

    With ``outcome`` the claim's substance is checked too (``claim_substance_errors``).
    """
    errors: list[str] = []
    if outcome is not None:
        errors += claim_substance_errors(item, outcome)
    for citation in item.citations:
        errors += verify_citation(citation, sources, item.account)
    if item.kind == "customer_statement":
        errors += _customer_statement_errors(item, sources)
        errors += statement_stance_errors(item, sources, outcome)
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
        if name not in claim:
            continue  # no match possible: skip the pattern (claims name one or two of these)
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


def _outcome_word(outcome: Outcome) -> Callable[[str], bool]:
    """Whether a word is one of the outcome's own words (title, aliases; not its unit), so
    "resolved" in "Share of tickets resolved by self-service" is its name, not a fix."""
    words = {w.lower() for t in (outcome.title, *outcome.aliases) for w in re.findall(_AZ, t)}
    words -= {w.lower() for w in re.findall(_AZ, outcome.unit)}
    return lambda word: word.lower() in words


def statement_stance_errors(
    item: ProofItem, sources: Mapping[str, Source], outcome: Outcome | None = None
) -> list[str]:
    """Refusals for a customer statement that is not a result asserted for the outcome.

    With ``outcome``, a sentence whose only fix cue is the outcome's own name ("share of
    tickets resolved by self-service is getting worse") is read as the complaint it is, as
    the extractive drafter reads it, whoever drafted the item."""
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
    if reading.is_proof and outcome is not None:
        source = sources[citation.source]
        lo, hi = _sentence_around(source, citation.start, citation.end)
        sentence = source.text[lo:hi]
        if is_complaint(sentence, _outcome_word(outcome)):
            cue = COMPLAINT.search(sentence)
            said = f' ("{cue.group(0)}")' if cue else ""
            return [
                f"the quote in {citation.source} is not a delivered result: it reports a "
                f"problem{said}"
            ]
    if reading.is_proof and m is not None and grounded(m, [item.delivered]):
        return []
    if reading.is_proof:
        return [
            f"the customer's sentence in {citation.source} states "
            f"{number(reading.value or 0)} {unit} as the result, not "
            f"{number(item.delivered)}"
        ]
    return [f"the quote in {citation.source} is not a delivered result: {reading.reason}"]


# --- what a claim says ------------------------------------------------------------------------
# A weak model can write a claim with no number in it ("Customer", "':{'", the task text
# echoed back, "the order processing is not completed" for an outcome at 129 %): the number
# checks above cannot see those. These checks apply to every drafter's wording.

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_QUOTED_RE = re.compile(r"\"[^\"]*\"|“[^”]*”")
# Said of an outcome that met its target, these assert the opposite.
_NEGATIVE_RE = re.compile(
    r"\b(?:not|never|no longer|cannot|can't|isn't|wasn't|aren't|weren't|didn't|doesn't|"
    r"haven't|hasn't|fail(?:s|ed|ing)?|miss(?:es|ed)?|incomplete|unfinished|below (?:the |its )?"
    r"target|short of|behind|fell short|falls short|unable)\b",
    re.IGNORECASE,
)
# Said of an outcome that missed its target, these assert the opposite.
_POSITIVE_RE = re.compile(
    r"\b(?:exceed(?:s|ed)?|surpass(?:es|ed)?|beat|beats|met|meets|achieved|reached|hit)\s+"
    r"(?:the\s+|its\s+|their\s+)?target\b|\bahead of (?:the |its )?target\b|\babove "
    r"(?:the |its )?target\b",
    re.IGNORECASE,
)
_JSONISH_RE = re.compile(r'[{}\[\]]|":|\\n')
_CURRENCY = {
    "USD": ("$", "usd", "dollar"),
    "EUR": ("€", "eur", "euro"),
    "GBP": ("£", "gbp", "pound"),
}
_UNIT_FORMS = {
    "hours": ("hour", "hrs", "hr"),
    "minutes": ("minute", "mins", "min"),
    "%": ("%", "percent", "per cent"),
    "percent": ("%", "percent", "per cent"),
    "people": ("people", "person", "users", "user", "staff"),
}
_COUNT_UNITS = {"", "count", "number", "#", "items"}
_STOP = {"the", "and", "for", "with", "from", "per", "of", "in", "on", "to", "a", "an", "by"}


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text)]


def _norm(text: str) -> str:
    return " ".join(text.split())


def sentence_errors(claim: str) -> list[str]:
    """A claim must be a sentence: words, not a fragment, a label or a scrap of JSON."""
    text = claim.strip()
    if _JSONISH_RE.search(text) and not _QUOTED_RE.search(text):
        return [f"the claim {_clip(text)} is not a sentence (it looks like JSON)"]
    own = _words(_QUOTED_RE.sub(" ", text))
    if len(_words(text)) < 4 or len(own) < 2 or text.endswith((",", ":", ";")):
        return [f"the claim {_clip(text)} is not a sentence"]
    return []


@lru_cache(maxsize=1)
def _instruction_grams() -> frozenset[tuple[str, ...]]:
    """Four-word runs of the drafting instructions (the prompt files, data blocks aside)."""
    try:
        from prompts import PROMPT_DIR
    except ImportError:  # pragma: no cover - the prompts package ships with the clerk
        return frozenset()
    grams: set[tuple[str, ...]] = set()
    for path in PROMPT_DIR.glob("*.md"):
        words = _words(re.sub(r"\$\{?\w+\}?", " ", path.read_text(encoding="utf-8")))
        grams.update(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    return frozenset(grams)


def echo_errors(claim: str, instructions: Iterable[str] = ()) -> list[str]:
    """A claim that repeats the drafting instructions says nothing about the customer.

    Half or more of its four-word runs (quotes aside) found in the instructions is an echo.
    """
    words = _words(_QUOTED_RE.sub(" ", claim))
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    if not grams:
        return []
    known = set(_instruction_grams())
    for text in instructions:
        w = _words(text)
        known.update(tuple(w[i : i + 4]) for i in range(len(w) - 3))
    echoed = sum(1 for g in grams if g in known)
    if echoed * 2 >= len(grams):
        return [f"the claim {_clip(claim)} repeats the drafting instructions"]
    return []


def polarity_errors(
    claim: str, attainment: float | None, outcome: Outcome | None = None
) -> list[str]:
    """The claim's own words (quotes aside) must not contradict the computed attainment.

    With ``outcome``, a cue made only of the outcome's own words is its name, not a verdict:
    "failed" in "revenue recovered through failed-payment retry"."""
    if attainment is None:
        return []
    own = _QUOTED_RE.sub(" ", claim)
    is_name = _outcome_word(outcome) if outcome is not None else None
    cues = _NEGATIVE_RE if attainment >= 1 else _POSITIVE_RE
    for m in cues.finditer(own):
        if is_name is not None and all(is_name(w) for w in re.findall(_AZ, m.group(0))):
            continue
        return [
            f"the claim says {m.group(0)!r} but the outcome is at "
            f"{number(round(attainment * 100))} % of target"
        ]
    return []


def _unit_forms(unit: str) -> tuple[str, ...]:
    u = unit.strip()
    if u.upper() in _CURRENCY and (u.isupper() or len(u) == 3):
        return _CURRENCY[u.upper()]
    low = u.lower()
    singular = low[:-1] if low.endswith("s") and not low.endswith("ss") else low
    return (low, singular, *_UNIT_FORMS.get(low, ()))


_AZ = r"[A-Za-z]+"


def _names_outcome(claim: str, title: str, unit: str = "") -> bool:
    """The title, or half its content words, the unit aside (an alias: "invoice approvals
    saved 1,320 hours" for "Hours saved on invoice approvals")."""
    if title.lower() in claim.lower():
        return True
    said = {w[:5] for w in _words(claim)}
    units = {f[:5] for f in _unit_forms(unit)} if unit else set()
    content = [w for w in _words(title) if w not in _STOP and len(w) > 2 and w[:5] not in units]
    if not content:
        return True
    hits = sum(1 for w in content if w[:5] in said)
    return hits * 2 >= len(content)


def calculation_claim_errors(claim: str, outcome: Outcome, delivered: float | None) -> list[str]:
    """A calculation claim states the delivered value with its unit and names the outcome."""
    errors: list[str] = []
    if delivered is not None and not any(grounded(m, [delivered]) for m in numbers_in(claim)):
        errors.append(f"the claim does not state the delivered value {number(delivered)}")
    unit = outcome.unit.strip()
    if unit.lower() not in _COUNT_UNITS:
        low = claim.lower()
        if not any(form and form in low for form in _unit_forms(unit)):
            errors.append(f"the claim does not give the unit ({unit})")
    if not _names_outcome(claim, outcome.title, outcome.unit):
        errors.append(f"the claim does not name the outcome ({outcome.title})")
    return errors


def statement_quote_errors(claim: str, quotes: Sequence[str]) -> list[str]:
    """A statement claim shows the customer's words: each quote, verbatim, inside it."""
    shown = _norm(claim)
    missing = [q for q in quotes if q.strip() and _norm(q) not in shown]
    return [f"the claim does not contain its quote {_clip(q)}" for q in missing]


def claim_substance_errors(
    item: ProofItem, outcome: Outcome, instructions: Iterable[str] = ()
) -> list[str]:
    """Refusals for a claim that says nothing, echoes the prompt or contradicts the numbers.

    Calculation items (not payback) must state the delivered value with its unit and name the
    outcome; customer statements must contain their quotes. Signals are not proof items.
    """
    claim = item.claim or ""
    errors = sentence_errors(claim)
    if errors:
        return errors
    errors += echo_errors(claim, instructions)
    if item.kind == "calculation":
        errors += calculation_claim_errors(claim, outcome, item.delivered)
        errors += polarity_errors(claim, item.attainment, outcome)
    elif item.kind == "customer_statement":
        errors += statement_quote_errors(claim, [c.quote for c in item.citations])
        errors += polarity_errors(claim, item.attainment, outcome)
    return errors


def _clip(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
