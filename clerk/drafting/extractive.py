"""The extractive drafter: words claims from computed numbers and quotes the customer verbatim.

No model and no network, so every command works offline. It never invents a number: a
calculation's claim uses only the request's numbers, and a customer statement is a sentence
of the customer's own words (inside their spans of the source), cited at its offsets, whose
delivered value is the number it states in the outcome's unit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from clerk.domain.format import CURRENCY_SYMBOLS, number
from clerk.domain.models import Account, Citation, Outcome, Source
from clerk.domain.textnum import NumberMention, numbers_in
from clerk.drafting.base import DraftRequest, DraftResult, StatementDraft
from clerk.drafting.signals import (
    Passage,
    complaint,
    customer_passages,
    keyword_hits,
    looks_like_instruction,
    negative_signals,
    outcome_keywords,
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

_CURRENCY_WORDS = {"USD": {"dollars", "dollar", "usd", "bucks"}, "EUR": {"euros", "euro", "eur"},
                   "GBP": {"pounds", "pound", "gbp"}}  # fmt: skip
_UNIT_SYNONYMS = {
    "hours": {"hours", "hour", "hrs", "hr", "h"},
    "days": {"days", "day"},
    "minutes": {"minutes", "minute", "mins", "min"},
    "weeks": {"weeks", "week"},
    "months": {"months", "month"},
    "people": {"people", "persons", "person", "users", "user", "staff"},
    "%": {"%", "percent"},
}
_UNIT_QUALIFIERS = {"business", "working", "calendar", "full", "whole", "extra", "more", "fewer",
                    "less", "additional", "man", "person", "staff", "of"}  # fmt: skip
_COUNT_UNITS = {"", "count", "number", "#", "items"}
# A number after these words is the old value ("from nine days", "instead of two days").
_OLD_VALUE = re.compile(r"\b(?:from|instead of|than|used to take|was|were|previously)\s+$", re.I)
# "two days earlier", "by two days": a change, not the level the outcome is measured in.
_DELTA_AFTER = re.compile(
    r"[ \t-]*(?:[A-Za-z]+[ \t]+){0,2}?(?:earlier|faster|sooner|quicker|shorter|longer|later"
    r"|less|fewer|more|off|ahead)\b",
    re.I,
)
_DELTA_BEFORE = re.compile(r"\b(?:by|another|extra)\s+$", re.I)
_NEW_VALUE = re.compile(r"\b(?:down to|up to|to|now)\s+$", re.I)
# Hopes, plans and conditions are not reports of what was delivered.
_HEDGE = re.compile(
    r"\b(?:goal is|goal was|aim is|aiming|hope|hoping|plan to|plans to|planning|want to"
    r"|wants to|expect|expecting|should|would|could|will|might|(?-i:may)|promise|promised"
    r"|forecast|projected|estimate|assume|if)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|never|cannot|can't|didn't|don't|doesn't|haven't|hasn't|isn't|aren't|wasn't"
    r"|weren't|won't|wouldn't)\b|n't\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r",\s|;\s|\s[-–—]\s|:\s")


def _currency(unit: str) -> str | None:
    return unit.upper() if re.fullmatch(r"[A-Za-z]{3}", unit) and unit.isupper() else None


def _amount(value: float, unit: str) -> str:
    """A number with its unit the way a finance reader writes it: "$59,400", "95%", "6 days"."""
    text = number(value)
    code = _currency(unit)
    if code:
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{symbol}{text}" if symbol else f"{text} {code}"
    if unit in ("%", "percent"):
        return f"{text}%"
    if unit.lower() in _COUNT_UNITS:
        return text
    return f"{text} {_singular(unit) if value == 1 else unit}"


def _singular(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") and not unit.endswith("ss") else unit


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
    forms = {unit.lower(), _singular(unit.lower())} | _UNIT_SYNONYMS.get(unit.lower(), set())
    if first in forms:  # the title already starts with the unit
        rest = title.split(" ", 1)[1] if " " in title else ""
        word = _singular(unit) if value == 1 else unit
        return f"{figure} {word} {rest}".strip()
    code = _currency(unit)
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
    return unit if _currency(unit) or unit in ("%", "percent") else ""


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
    delivered: float | None
    hits: int


def _unit_matches(text: str, mention: NumberMention, unit: str) -> bool:
    """True when ``mention`` counts the outcome's unit ("six days", "6 business days", "$5k")."""
    code = _currency(unit)
    if code:
        if mention.unit == code:
            return True
        return (mention.unit or "") in _CURRENCY_WORDS.get(code, set())
    if unit in ("%", "percent"):
        return mention.unit == "%"
    forms = {unit.lower(), _singular(unit.lower())} | _UNIT_SYNONYMS.get(unit.lower(), set())
    words = re.findall(r"[A-Za-z]+", text[mention.end : mention.end + 40])[:3]
    for word in words:
        if word.lower() in forms:
            return True
        if word.lower() not in _UNIT_QUALIFIERS:
            return False
    return False


def _delivered_mention(text: str, unit: str) -> NumberMention | None:
    """The number a sentence states as delivered in ``unit``: the new value, not the old one."""
    mentions = numbers_in(text)
    in_unit = [
        m
        for m in mentions
        if _unit_matches(text, m, unit)
        and not _DELTA_AFTER.match(text, m.end)
        and not _DELTA_BEFORE.search(text[max(0, m.start - 12) : m.start])
    ]
    current = [m for m in in_unit if not _OLD_VALUE.search(text[max(0, m.start - 20) : m.start])]
    if in_unit and len(current) < len(in_unit):
        # "from nine days to six": the bare number after "to" carries the same unit.
        after = [
            m
            for m in mentions
            if m not in in_unit
            and m.start > in_unit[0].end
            and _NEW_VALUE.search(text[max(0, m.start - 10) : m.start])
        ]
        current = current or after
    return current[0] if current else None


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds, cut = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        # A comma inside a number ("1,320") has no space after it, so it never cuts here.
        bounds.append((cut, m.start()))
        cut = m.end()
    bounds.append((cut, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


def _candidate(passage: Passage, outcome: Outcome, keywords: set[str]) -> _Candidate | None:
    text = passage.text
    if complaint(text) or looks_like_instruction(text) or _NEGATION.search(text):
        return None
    clauses = _clauses(text)
    mention = _delivered_mention(text, outcome.unit)
    if mention is not None:
        # The smallest run of clauses holding the number and a keyword of the outcome.
        first = next(i for i, (s, e) in enumerate(clauses) if s <= mention.start < e)
        lo = hi = first
        while keyword_hits(text[clauses[lo][0] : clauses[hi][1]], keywords) == 0:
            if lo > 0:
                lo -= 1
            elif hi < len(clauses) - 1:
                hi += 1
            else:
                return None
        start, end = clauses[lo][0], clauses[hi][1]
    else:
        start, end = 0, len(text)
    quote = text[start:end]
    hits = keyword_hits(quote, keywords)
    if _HEDGE.search(quote) or hits == 0 or (mention is None and hits < 2):
        return None
    value = mention.value if mention is not None else None
    return _Candidate(passage, start, end, value, hits)


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


def customer_statements(request: DraftRequest) -> tuple[list[StatementDraft], list[str]]:
    """Customer sentences stating the outcome, best first (a number in the unit, newest,
    strongest match), at most ``MAX_STATEMENTS``; plus notes on text that was set aside.

    For a calculated outcome a statement must state a number in its unit; a customer-reported
    outcome also takes a sentence without one when it names the outcome plainly.
    """
    outcome = request.outcome
    keywords = outcome_keywords(outcome)
    notes: list[str] = []
    candidates: list[_Candidate] = []
    for passage in customer_passages(request):
        if passage.date.date() > request.as_of:
            continue
        if looks_like_instruction(passage.text):
            note = NOTE_INSTRUCTION.format(source=passage.source_id)
            if note not in notes:
                notes.append(note)
            continue
        found = _candidate(passage, outcome, keywords)
        if found is None:
            continue
        if found.delivered is None and outcome.evidence != "customer_reported":
            continue
        candidates.append(found)
    candidates.sort(key=lambda c: (c.delivered is not None, c.passage.date, c.hits), reverse=True)
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
        notes.append(NOTE_NO_STATEMENT.format(title=_lower_first(outcome.title), unit=outcome.unit))
    return drafts, notes


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
