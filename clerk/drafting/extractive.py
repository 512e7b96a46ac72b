"""The extractive drafter: words claims from computed numbers and quotes the customer verbatim.

No model and no network, so every command works offline. It never invents a number: a
calculation's claim uses only the request's numbers, and a customer statement is a sentence
of the customer's own words (inside their spans of the source), cited at its offsets, whose
delivered value is the number it states in the outcome's unit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from clerk.domain.format import CURRENCY_SYMBOLS, number
from clerk.domain.models import Account, Citation, Outcome, Source
from clerk.domain.stance import (
    Reading,
    clauses,
    currency_code,
    read_statement,
    singular,
    unit_forms,
)
from clerk.drafting.base import DraftRequest, DraftResult, StatementDraft
from clerk.drafting.matching import OutcomeMatcher, meaning_text
from clerk.drafting.signals import (
    Passage,
    customer_passages,
    looks_like_instruction,
    negative_signals,
)

__all__ = [
    "ExtractiveDrafter",
    "calculation_claim",
    "customer_statements",
]

MAX_STATEMENTS = 3

# Claim templates. Fixed phrases the tests (and the review UI's help text) rely on.
CLAIM_WITH_TARGET = "{what}{period}, against a target of {target}."
CLAIM_NO_TARGET = "{what}{period}."
AT_MOST = "at most {value}"
STATEMENT = '{speaker} {verb} on {date}: "{quote}"{target}.'
STATEMENT_TARGET = " (target: {target})"
NOTE_NO_RESULT = "the calculation has no result, so no claim was worded"
NOTE_NO_STATEMENT = "no sentence of the customer's in the evidence states {title} in {unit}"
NOTE_INSTRUCTION = "ignored text in {source} that reads like instructions to the drafter"
NOTE_SET_ASIDE = 'not used as proof: "{quote}" ({source}) is {reason}'
NOTE_RELATED = 'related context, not proof (no value in {unit}): "{quote}" ({source})'
MAX_NOTES = 5

_COUNT_UNITS = {"", "count", "number", "#", "items"}


def _amount(value: float, unit: str) -> str:
    """A number with its unit the way a finance reader writes it: "$59,400", "95%", "6 days"."""
    text = number(value)
    code = currency_code(unit)
    if code:
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{symbol}{text}" if symbol else f"{text} {code}"
    if unit in ("%", "percent"):
        return f"{text}%"
    if unit.lower() in _COUNT_UNITS:
        return text
    return f"{text} {singular(unit) if value == 1 else unit}"


def _lower_first(title: str) -> str:
    first = title.split(" ", 1)[0]
    return title if first.isupper() and len(first) > 1 else title[:1].lower() + title[1:]


def _period_phrase(label: str) -> str:
    label = label.strip()
    if not label:
        return ""
    if label.lower().startswith(("in ", "over ", "since ", "during ", "for ")):
        return f" {label}"
    if label[:1].islower():  # "contract to date" is a span of time, not a name
        return f" over the {label}"
    return f" in {label}"


def _what(value: float, outcome: Outcome) -> str:
    """The delivered value with the outcome's title: "1,320 hours saved on invoice approvals"."""
    unit, title = outcome.unit.strip(), _lower_first(outcome.title.strip())
    figure = number(value)
    first = title.split(" ", 1)[0].lower()
    forms = unit_forms(unit)
    if first in forms:  # the title already starts with the unit
        rest = title.split(" ", 1)[1] if " " in title else ""
        word = singular(unit) if value == 1 else unit
        return f"{figure} {word} {rest}".strip()
    code = currency_code(unit)
    if code or unit in ("%", "percent"):
        return f"{_amount(value, unit)} {title}"
    if unit.lower() in _COUNT_UNITS:
        return f"{figure} {title}"
    return f"{_amount(value, unit)}: {title}"


def _target(value: float, outcome: Outcome, *, with_unit: bool) -> str:
    text = _amount(value, outcome.unit) if with_unit else _amount(value, _bare(outcome.unit))
    return AT_MOST.format(value=text) if outcome.direction == "decrease" else text


def _bare(unit: str) -> str:
    """Keep currency and percent signs on a target; drop plain unit words ("1,200")."""
    return unit if currency_code(unit) or unit in ("%", "percent") else ""


def calculation_claim(request: DraftRequest) -> str | None:
    """The claim for a computed calculation, from the request's numbers only."""
    calc = request.calculation
    delivered = request.delivered
    if delivered is None and calc is not None:
        delivered = calc.result
    if delivered is None:
        return None
    outcome = request.outcome
    target = request.target if request.target is not None else outcome.target
    what, period = _what(delivered, outcome), _period_phrase(request.period.label)
    if target is None:
        return CLAIM_NO_TARGET.format(what=what, period=period)
    return CLAIM_WITH_TARGET.format(
        what=what, period=period, target=_target(target, outcome, with_unit=False)
    )


# --- customer statements ----------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    quote_start: int  # offsets inside passage.text
    quote_end: int
    delivered: float
    hits: int


def _asks(passage: Passage, request: DraftRequest) -> bool:
    """True when the sentence ended with a question mark in its source (passages drop it)."""
    source = request.sources.get(passage.source_id)
    if source is None:
        return False
    return source.text[passage.end : passage.end + 3].lstrip(" \t\"”'")[:1] == "?"


def _quote_bounds(text: str, reading: Reading, matcher: OutcomeMatcher) -> tuple[int, int, int]:
    """The smallest run of clauses holding the value and a word of the outcome, with its
    keyword hits; the whole sentence when the outcome is named only by meaning or alias."""
    parts = clauses(text)
    mention = reading.mention
    if mention is None or not parts:
        return 0, len(text), matcher.keyword_hits(text)
    first = next((i for i, (s, e) in enumerate(parts) if s <= mention.start < e), 0)
    lo = hi = first
    while matcher.keyword_hits(text[parts[lo][0] : parts[hi][1]]) == 0:
        if lo > 0:
            lo -= 1
        elif hi < len(parts) - 1:
            hi += 1
        else:
            return 0, len(text), 0
    start, end = parts[lo][0], parts[hi][1]
    return start, end, matcher.keyword_hits(text[start:end])


def _meaning_texts(text: str, reading: Reading) -> tuple[str, str]:
    """What the meaning of a sentence is read from: the sentence, and the clause holding
    its value (each without a preamble before a colon)."""
    at = reading.mention.start if reading.mention is not None else None
    s, e = reading.clause or (0, len(text))
    return meaning_text(text, at), meaning_text(text[s:e], None if at is None else at - s)


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def customer_statements(request: DraftRequest) -> tuple[list[StatementDraft], list[str]]:
    """Customer sentences asserting a delivered value for the outcome, best first (newest,
    strongest match), at most ``MAX_STATEMENTS``; plus notes on text that was set aside.

    A sentence is a statement only when clerk.domain.stance reads an achieved value in the
    outcome's unit bound to its measure, and the sentence is about this outcome (its words,
    an alias, or its meaning; see clerk.drafting.matching). Sentences about the outcome that
    are hopes, plans, questions, guesses, negations or complaints are named in a note with
    the reason; sentences about it with no value are noted as related context, never proof.
    """
    outcome = request.outcome
    matcher = OutcomeMatcher(outcome, request.siblings)
    title = _lower_first(outcome.title)
    notes: list[str] = []
    set_aside: list[str] = []
    related: list[str] = []
    candidates: list[_Candidate] = []
    by_meaning: list[tuple[Passage, Reading]] = []
    for passage in customer_passages(request):
        if passage.date.date() > request.as_of:
            continue
        if looks_like_instruction(passage.text):
            note = NOTE_INSTRUCTION.format(source=passage.source_id)
            if note not in notes:
                notes.append(note)
            continue
        text = passage.text
        reading = read_statement(
            text,
            outcome.unit,
            is_topic=matcher.is_topic,
            same_measure=matcher.same_measure,
            question=_asks(passage, request),
        )
        hits = matcher.keyword_hits(text)
        alias = matcher.alias(text)
        named = hits > 0 or alias is not None
        if not reading.is_proof:
            if reading.mention is not None and named:
                set_aside.append(
                    NOTE_SET_ASIDE.format(
                        quote=_short(text), source=passage.source_id, reason=reading.reason
                    )
                )
            elif reading.stance == "no_value" and (hits >= 2 or alias is not None):
                related.append(
                    NOTE_RELATED.format(
                        quote=_short(text), source=passage.source_id, unit=outcome.unit
                    )
                )
            continue
        if not named:
            by_meaning.append((passage, reading))
            continue
        start, end, quote_hits = _quote_bounds(text, reading, matcher)
        rival = matcher.loses_to_sibling(text[start:end])
        if rival is not None:
            set_aside.append(
                NOTE_SET_ASIDE.format(
                    quote=_short(text),
                    source=passage.source_id,
                    reason=f"it is more about {_lower_first(rival.title)}",
                )
            )
            continue
        assert reading.value is not None
        candidates.append(_Candidate(passage, start, end, reading.value, quote_hits or 1))
    if by_meaning:
        # The sentence, and the clause that holds the value on its own ("..., thanks for
        # the help" after the result is not what the customer says about the outcome).
        texts = [_meaning_texts(p.text, r) for p, r in by_meaning]
        flat = matcher.semantic([t for pair in texts for t in pair]) or []
        scores = [max(flat[2 * n], flat[2 * n + 1]) for n in range(len(flat) // 2)]
        for (passage, reading), score in zip(by_meaning, scores, strict=False):
            if score > 0 and reading.value is not None:
                candidates.append(_Candidate(passage, 0, len(passage.text), reading.value, 0))
    candidates.sort(key=lambda c: (c.passage.date, c.hits), reverse=True)
    target = request.target if request.target is not None else outcome.target
    drafts: list[StatementDraft] = []
    for c in candidates[:MAX_STATEMENTS]:
        p = c.passage
        quote = p.text[c.quote_start : c.quote_end]
        start = p.start + c.quote_start
        speaker, verb = _speaker(request.sources.get(p.source_id), p, request.account)
        target_text = (
            STATEMENT_TARGET.format(target=_target(target, outcome, with_unit=True))
            if target is not None
            else ""
        )
        # The claim shows the quote on one line; the citation keeps it byte for byte.
        shown = " ".join(quote.split())
        claim = STATEMENT.format(
            speaker=speaker, verb=verb, date=_day(p.date), quote=shown, target=target_text
        )
        citation = Citation(source=p.source_id, quote=quote, start=start, end=start + len(quote))
        drafts.append(StatementDraft(claim=claim, citations=[citation], delivered=c.delivered))
    if not drafts and outcome.evidence == "customer_reported":
        notes.append(NOTE_NO_STATEMENT.format(title=title, unit=outcome.unit))
    notes += list(dict.fromkeys(set_aside))[:MAX_NOTES]
    notes += list(dict.fromkeys(related))[:MAX_NOTES]
    return drafts, notes


def _speaker(source: Source | None, passage: Passage, account: Account) -> tuple[str, str]:
    """Who said it and how: ("Priya Raman (customer)", "said"), or a neutral stand-in."""
    people = [p for p in (account.champion, account.executive_buyer) if p is not None]
    if source is not None and source.kind == "note":
        author = (source.author or "").lower()
        domain = author.rsplit("@", 1)[-1]
        if source.meta.get("kind") == "email" and domain in account.customer_domains:
            named = next((p.name for p in people if p.email and p.email.lower() == author), None)
            return (f"{named} (customer)" if named else "The customer"), "wrote"
        names = [p.name for p in people] + [str(a) for a in source.meta.get("attendees") or []]
        window = source.text[max(0, passage.start - 120) : passage.start]
        best, where = None, -1
        for name in dict.fromkeys(names):
            for form in (name, name.split(" ", 1)[0]):
                at = window.rfind(form)
                if at > where and form.strip():
                    best, where = name, at
        if best:
            return f"{best} (customer)", "said"
    if source is not None and source.kind in ("ticket", "ticket_comment"):
        return "The customer", "wrote in a support ticket"
    return "The customer", "said"


def _day(moment: dt.datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


class ExtractiveDrafter:
    """The offline drafter: template claims, verbatim customer quotes, rule-based signals."""

    name = "extractive"
    ranked_evidence = False  # it reads every customer passage
    sweep_id: int | None = None  # it records nothing per sweep

    async def draft(self, request: DraftRequest) -> DraftResult:
        """Word the calculation's claim, find customer statements and negative signals."""
        notes: list[str] = []
        claim = None
        if request.calculation is not None:
            claim = calculation_claim(request)
            if claim is None:
                notes.append(NOTE_NO_RESULT)
        statements, statement_notes = customer_statements(request)
        return DraftResult(
            drafted_by=self.name,
            claim=claim,
            statements=statements,
            negative_signals=negative_signals(request),
            notes=notes + statement_notes,
        )
