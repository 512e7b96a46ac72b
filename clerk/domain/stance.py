"""What a customer's sentence asserts about one outcome: the value bound to its unit, and
the stance of the clause that holds it.

A sentence is proof of an outcome only when the customer asserts a delivered value, in the
outcome's unit, in an achieved-result clause. Everything else is read, named and set aside:

- stance, scoped to the clause holding the number: a hope, plan, target or forecast
  ("we would like to get under 2 hours by spring"), a negation ("we have not seen it come
  down"), a question, a conditional ("if the integration goes live"), a guess or hearsay
  ("I think", "apparently"), a complaint. A contrast ("but today", "however", "right now")
  ends the scope of a hedge, so "we would like to get under 2 hours per contract by spring,
  but today it still takes around 4 hours per contract" reads as 4 hours, achieved;
- value binding: among several numbers the one in the outcome's unit and about its measure
  wins; a baseline ("from", "up from", "instead of", "last year"), a target or plan ("the
  1,000 we budgeted"), a change ("by two days", "two days faster"), a period ("in the last
  30 days"), a label ("cell 6") or another measure ("25 hours on expense reports") is never
  the delivered value;
- "about", "roughly", "under", "more than" ... keep the customer's number but mark it
  approximate, so confidence is lowered.

Shared by the extractive drafter (which sentences become statements) and the verifier
(which statements may be stored as verified, whichever drafter wrote them). Pure, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from clerk.domain.textnum import NumberMention, numbers_in

__all__ = [
    "currency_code",
    "singular",
    "COMPLAINT",
    "FIX",
    "Reading",
    "Stance",
    "clauses",
    "is_complaint",
    "is_fix",
    "read_statement",
    "unit_forms",
]

Stance = Literal[
    "achieved",
    "hope",
    "negation",
    "question",
    "conditional",
    "guess",
    "complaint",
    "no_value",
]

# Why a sentence was not used, in the CSM's words (confidence_reasons / drafter notes).
REASONS: dict[str, str] = {
    "hope": "a hope, plan, target or forecast, not a delivered result",
    "negation": "a negation: it says what has not happened",
    "question": "a question, not a statement of a result",
    "conditional": "a conditional: it says what would happen if something else did",
    "guess": "a guess or hearsay, not the customer asserting a result",
    "complaint": "a complaint, not a confirmation",
    "no_value": "it states no value in the outcome's unit",
}

# --- complaints (shared with the negative-signal rules of clerk.drafting.signals) --------

_NEGATED = r"(?<!\bno )(?<!\bnot )(?<!\bnever )(?<!n't )(?<!\bzero )(?<!\bfewer )(?<!\bless )"
COMPLAINT = re.compile(
    "|".join(
        [
            r"\b(?:not|isn't|is not|aren't|doesn't|does not|don't|do not|stopped|won't|"
            r"will not|can't|cannot)\s+(?:\w+\s+)?work(?:ing|s)?\b",
            r"\b(?:isn't|is not|aren't|are not|doesn't|does not|don't|do not|won't|will not|"
            r"can't|cannot|not)\s+(?:\w+\s+)?(?:load|loading|loads|show|showing|shows|updat\w*|"
            r"sync\w*|sav\w*|open\w*|refresh\w*)\b",
            r"\b(?:by hand|manually)\s+again\b",
            r"\bback to (?:manual|doing (?:it|them|this) by hand|spreadsheets|excel|paper)\b",
            r"\bstill (?:have to |need to )?(?:\w+ing|do|approve|enter|check)\b[^.]{0,40}"
            r"\b(?:by hand|manually)\b",
            rf"{_NEGATED}\b(?:fail(?:s|ed|ing|ures?)?|broken|breaks|broke|crash(?:es|ed|ing)?"
            r"|errors?|bugs?|buggy|outage|skip(?:s|ped|ping)?|stuck|regression|unusable"
            r"|problems?|worse|slower|glitch\w*)\b",
            r"\b(?:has been|have been|is|are|went|goes|still)\s+(?:completely\s+|totally\s+)?"
            r"(?:blank|empty|down(?!\s+(?:to|from|by|\d))|wrong|incorrect|missing|garbled|frozen)\b",
            r"\b(?:frustrat|disappoint)\w*|\bunhappy\b|\bunacceptable\b",
            r"\bcancel+(?:l?ing|l?ed)?\s+(?:the |our |my )?(?:contract|subscription|account|plan)",
            r"\b(?:not|won't|will not|don't plan to|do not plan to)\s+(?:be\s+)?renew",
            r"\bchurn|\bterminat\w* (?:the |our )?contract|\bswitch(?:ing)? to (?:another|a "
            r"different|a competitor)|\blooking at (?:other|alternative)|\balternatives to\b",
        ]
    ),
    re.IGNORECASE,
)
FIX = re.compile(
    r"\b(?:confirm(?:ed|s)?|fixed|resolved|solved|works now|working (?:again|now|fine)"
    r"|works again|all good|cleared|sorted|back to normal|no more (?:issues|problems|errors))\b",
    re.IGNORECASE,
)


# The pure text tests below are cached: a sweep reads each customer sentence once per outcome
# of the account (and the drafter's signals read them again).
@lru_cache(maxsize=1 << 14)
def _fix_cues(text: str) -> tuple[tuple[str, ...], ...]:
    """The words of each fix cue in ``text`` ("resolved", "works now")."""
    return tuple(tuple(re.findall(r"[A-Za-z]+", m.group(0))) for m in FIX.finditer(text))


@lru_cache(maxsize=1 << 14)
def _has_complaint_cue(text: str) -> bool:
    return bool(COMPLAINT.search(text))


def is_fix(text: str, is_topic: Callable[[str], bool] | None = None) -> bool:
    """True when ``text`` reports a fix or confirms one ("Confirmed, thanks", "works now").

    With ``is_topic`` (whether a word names the outcome), a cue that is one of the outcome's
    own words is its name, not a fix: "share of tickets resolved by self-service is getting
    worse" reports no fix for the outcome "Share of tickets resolved by self-service"."""
    return any(is_topic is None or not any(is_topic(w) for w in words) for words in _fix_cues(text))


def is_complaint(text: str, is_topic: Callable[[str], bool] | None = None) -> bool:
    """True when ``text`` reports something failing (and is not itself reporting a fix);
    ``is_topic`` as in :func:`is_fix`."""
    return _has_complaint_cue(text) and not is_fix(text, is_topic)


# --- units ---------------------------------------------------------------------------------

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
    "percent": {"%", "percent"},
    "points": {"points", "point", "pts", "pt"},
}
_UNIT_QUALIFIERS = {"business", "working", "calendar", "full", "whole", "extra", "more", "fewer",
                    "less", "additional", "man", "person", "staff", "of", "straight", "total",
                    "solid", "net", "flat", "ish"}  # fmt: skip
COUNT_UNITS = {"", "count", "number", "#", "items", "units"}
_TIME_UNITS = {"hours", "days", "minutes", "weeks", "months", "years", "seconds"}


def singular(word: str) -> str:
    """ "hours" -> "hour"; "less" stays."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def currency_code(unit: str) -> str | None:
    """The ISO code when ``unit`` is one ("USD", "EUR"), else None."""
    return unit.upper() if re.fullmatch(r"[A-Za-z]{3}", unit) and unit.isupper() else None


def unit_forms(unit: str) -> set[str]:
    """Words that name ``unit`` right after a number: "hours" -> hours, hour, hrs, h."""
    low = unit.strip().lower()
    last = low.split()[-1] if low.split() else low
    forms = {low, singular(low), last, singular(last)}
    return forms | _UNIT_SYNONYMS.get(low, set()) | _UNIT_SYNONYMS.get(last, set())


def _words_after(text: str, end: int, n: int = 4) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z%]+", text[end : end + 60])[:n]]


def in_unit(
    text: str, mention: NumberMention, unit: str, is_topic: Callable[[str], bool] | None = None
) -> bool:
    """True when ``mention`` counts the outcome's ``unit`` ("six days", "6 business days",
    "$5k", "12 percent", "1,310 work orders"). For a bare count unit the noun after the
    number must be a word of the outcome (``is_topic``)."""
    unit = unit.strip()
    code = currency_code(unit)
    if code:
        return mention.unit == code or (mention.unit or "") in _CURRENCY_WORDS.get(code, set())
    if unit.lower() in ("%", "percent"):
        return mention.unit == "%"
    if mention.unit in ("%", "x") or mention.unit in {"USD", "EUR", "GBP"}:
        return False
    words = _words_after(text, mention.end)
    if unit.lower() in COUNT_UNITS:
        # "1,310 work orders": a word of the outcome among the next three, none a unit.
        known = set().union(*_UNIT_SYNONYMS.values())
        for word in words[:3]:
            if word in known or word in _NOT_NOUNS:
                return False
            # Without the outcome's words (the verifier), any noun counts; the drafter
            # has already tied the sentence to the outcome.
            if is_topic is None or is_topic(word):
                return True
        return False
    forms = unit_forms(unit)
    first = unit.lower().split()[0] if unit.split() else ""
    for word in words[:3]:
        if word in forms or (first and word in (first, singular(first))):
            return True
        if word not in _UNIT_QUALIFIERS and word not in _ADJECTIVES:
            return False
    return False


_NOT_NOUNS = {
    "in",
    "on",
    "at",
    "by",
    "for",
    "we",
    "they",
    "i",
    "you",
    "it",
    "and",
    "or",
    "but",
    "to",
    "from",
    "than",
    "this",
    "that",
    "last",
    "per",
    "a",
    "the",
    "is",
    "was",
}
_ADJECTIVES = {"new", "open", "closed", "completed", "finished", "resolved", "signed", "active",
               "live", "processed", "approved", "booked", "scheduled", "separate",
               "individual", "unique", "paid", "field", "customer", "client"}  # fmt: skip

# --- roles a number can play other than the delivered value --------------------------------

_APPROX_WORDS = (
    r"(?:about|around|roughly|approximately|approx\.?|nearly|almost|close to|some|just|over"
    r"|under|below|above|more than|less than|fewer than|at least|at most|upwards of|north of"
    r"|south of|only|barely|a bit over|a bit under|a little over|a little under|~)"
)
_LEAD = rf"\s*(?:{_APPROX_WORDS}\s*)*(?:(?:the|a|an)\s+)?$"
_BASELINE_BEFORE = re.compile(
    r"\b(?:from|instead of|compared (?:to|with)|versus|vs\.?|than|used to (?:take|be|run|get"
    r"|do|spend|need)|previously|before it was|it was previously|formerly|originally|baseline"
    r"(?: of| was| is)?|starting point(?: of| was)?)" + _LEAD,
    re.IGNORECASE,
)
_WEAK_BASELINE_BEFORE = re.compile(r"\b(?:was|were|had been|took|used)" + _LEAD, re.IGNORECASE)
_BASELINE_AFTER = re.compile(
    r"^[^,;.]{0,40}?\b(?:last (?:year|quarter|month|time|spring|summer|fall|autumn|winter)"
    r"|a year ago|before (?:we|the|go-live|launch|rollout)|previously|back then|at the start"
    r"|at kick-?off|originally|pre-(?:launch|rollout)|in the old (?:days|process|system))\b",
    re.IGNORECASE,
)
_TARGET_BEFORE = re.compile(
    r"\b(?:target(?:ed)?|goal|aim|budget(?:ed)?|plan(?:ned)?|quota|forecast(?:ed)?|projection"
    r"|projected|benchmark|sla|commitment|committed|promised|expected|estimate[ds]?|hoped-for)"
    r"(?:\s+(?:of|was|is|at|for|to be|to hit|to reach|:))?" + _LEAD,
    re.IGNORECASE,
)
_TARGET_AFTER = re.compile(
    r"^[ \t-]*(?:[A-Za-z]+[ \t]+){0,3}?(?:(?:that\s+|which\s+)?(?:we|they|I|you|he|she|it|the"
    r" business|management|finance|leadership)\s+(?:had\s+|have\s+|originally\s+|initially\s+)?"
    r"(?:budget|plan|target|forecast|project|expect|promis|hop|aim|commit|agree|set|want"
    r"|estimat|predict|quot|signed up for|asked for)\w*"
    r"|(?:target|goal|budget|plan|quota|forecast|projection|sla)\b)",
    re.IGNORECASE,
)
_COMPARED = re.compile(
    r"\b(?:ahead of|past|beat|above|over|under|below|against|than|vs|versus|behind|exceed\w*"
    r"|surpass\w*|missed|met|hit)\b",
    re.IGNORECASE,
)
_DELTA_AFTER = re.compile(
    r"^[ \t-]*(?:[A-Za-z]+[ \t]+){0,2}?(?:earlier|faster|sooner|quicker|shorter|longer|later"
    r"|less|fewer|more|off|ahead|better|worse|higher|lower)\b",
    re.IGNORECASE,
)
_DELTA_BEFORE = re.compile(
    r"\b(?:by|another|extra|an extra|additional|up|down|improved|increase[ds]?|decrease[ds]?"
    r"|gain(?:ed)? of|drop(?:ped)? of|rose|fell|grew|shaved|shaved off|knocked off)\s+"
    r"(?:about\s+|around\s+|roughly\s+|nearly\s+|almost\s+|some\s+)?$",
    re.IGNORECASE,
)
_PERIOD_BEFORE = re.compile(
    r"\b(?:(?:in|over|during|for|within|across|after|of)\s+(?:the\s+)?(?:last|past|first|next"
    r"|previous|prior|coming|following)|every|each|once every)\s*$",
    re.IGNORECASE,
)
_PERIOD_AFTER = re.compile(
    r"^\s*(?:business\s+|working\s+|calendar\s+)?(?:days?|weeks?|months?|years?|quarters?"
    r"|hours?)\s+(?:ago|into|since|later|of (?:the|this|our) (?:pilot|trial|rollout)|running"
    r"|in a row)\b",
    re.IGNORECASE,
)
_LABEL_BEFORE = re.compile(
    r"\b(?:cell|line|site|station|room|building|floor|version|release|step|phase|tier|level"
    r"|stage|wave|batch|region|zone|plant|store|warehouse|lane|dock|bay|gate|ticket|case"
    r"|order|invoice|po|no\.?|number|ward|clinic|branch|shift|week|day|team|group|page|slide"
    r"|item|row|column|option|plan|section|chapter|table|figure|hall|unit|route|truck|van"
    r"|crew|depot|#)\s*$",
    re.IGNORECASE,
)
_CURRENT_BEFORE = re.compile(
    r"\b(?:now|today|currently|this (?:month|quarter|year|week|time)|down to|up to|to|at"
    r"|hit|reached|got (?:it )?(?:down |up )?to|is|are|'s|in|took|takes|closed|finished)" + _LEAD,
    re.IGNORECASE,
)
# "25 hours on expense reports": the measure after the number names another topic.
_TOPIC_AFTER = re.compile(
    r"^\s*(?:[A-Za-z]+\s+){0,2}?(?P<prep>on|for|doing|processing|handling|spent on|of)\s+"
    r"(?:the\s+|our\s+|all\s+|each\s+|every\s+|a\s+|an\s+|their\s+|those\s+|these\s+)?"
    r"([A-Za-z][A-Za-z-]*)(?:\s+([A-Za-z][A-Za-z-]*))?",
    re.IGNORECASE,
)
_GENERIC_TOPIC = {
    "it", "that", "this", "them", "average", "everything", "all", "us", "you", "me", "which",
    "team", "teams", "staff", "people", "department", "group", "crew", "crews", "folks",
    "everyone", "customers", "clients", "the", "month", "quarter", "year", "week", "end",
    "whole", "entire", "first", "last", "past", "time", "now", "and", "but", "so", "we",
    "in", "a", "an", "our", "my", "their", "each", "work", "job", "jobs", "task", "tasks",
    "what", "rest", "same", "period", "cycle", "process", "total", "median",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip
_MONTH_WORDS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "spring", "summer", "fall", "autumn", "winter",
}  # fmt: skip
_APPROX_NEAR = re.compile(rf"\b{_APPROX_WORDS}\s*(?:the\s+|a\s+)?$|~\s*$", re.IGNORECASE)
_APPROX_AFTER = re.compile(r"^\s*-?\s*ish\b|^\s*(?:or so|give or take|or thereabouts)\b", re.I)

# --- stance cues ----------------------------------------------------------------------------

_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "hope",
        re.compile(
            r"\b(?:would like|'d like|would love|'d love|hope|hopes|hoping|hopefully|want to"
            r"|wants to|wanted to|we want|plan|plans|planning|planned|aim|aims|aiming|goal"
            r"|goals|target|targets|targeting|expect|expects|expecting|forecast|forecasts"
            r"|forecasting|projected|projection|on track to|going to|gonna|will|'ll|would"
            r"|'d|should|could|might|(?-i:may)|shall|intend|intends|looking to|trying to"
            r"|try to|promise|promised|committed to|budget|budgets|budgeted|aspire|aspiration"
            r"|ambition|wish|dream|by (?:spring|summer|fall|autumn|winter|year-end|year end"
            r"|end of|the end|next|q[1-4]|h[12]|january|february|march|april|june|july|august"
            r"|september|october|november|december)|next (?:month|quarter|year|week)"
            r"|eventually|someday|one day|in the future|down the road|soon)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "negation",
        re.compile(
            r"\b(?:not|never|no longer|none|nothing|nobody|neither|nor|no|cannot|without)\b"
            r"|n't\b",
            re.IGNORECASE,
        ),
    ),
    (
        "conditional",
        re.compile(
            r"\b(?:if|unless|assuming|provided that|as long as|once|as soon as|in case"
            r"|suppose|supposing|imagine|what if|whenever|depending on)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "guess",
        re.compile(
            r"\b(?:think|thinks|thought|guess|guesses|guessing|guessed|reckon|reckons"
            r"|believe|believes|suppose|probably|maybe|perhaps|likely|presumably|apparently"
            r"|supposedly|allegedly|seems|seem|seemed|feels like|i'd say|my sense|my gut"
            r"|ballpark|heard|hear|rumou?r|told me|tells me|tell me|according to|says|said"
            r"|claims|claimed|estimate|estimates|estimated|estimating|assume|assumes|assumed"
            r"|speculat\w*|might be|must be|sounds like|i imagine|not sure|unsure|unclear"
            r"|hard to say|no idea|i'm told|we're told|rough(?:ly)? (?:guess|estimate)"
            r"|back of the envelope|napkin)\b",
            re.IGNORECASE,
        ),
    ),
)
# Comparisons with a plan are statements of a result: "ahead of plan", "past the target",
# "faster than we expected". They are masked before the cues are read.
_PLAN_COMPARISON = re.compile(
    r"\b(?:than|as) (?:(?:we|they|I|anyone|management|finance|leadership) )?(?:had )?"
    r"(?:originally |initially )?(?:expected|planned|budgeted|forecast(?:ed)?|projected"
    r"|hoped|targeted|promised|thought|feared|estimated|anticipated)\b"
    r"|\b(?:ahead of|behind|past|beat|beating|beaten|above|over|exceed(?:ed|ing)?|under"
    r"|below|missed|hit|met|meeting|surpass(?:ed|ing)?|smashed|blew past|on|against)"
    r" (?:the |our |their |its |my )?(?:\w+ )?(?:target|goal|plan|budget|forecast|projection"
    r"|quota|sla|schedule|estimate|benchmark)s?\b"
    r"|\bwhat (?:we|they|I) (?:had )?(?:expected|planned|budgeted|hoped|forecast)\b"
    r"|\b(?:never|not) (?:been )?(?:better|faster|happier|quicker|smoother)\b"
    r"|\bno (?:more|longer) (?:manual|by hand|paper|spreadsheets?|backlog|overtime|chasing)\b"
    r"|\bwithout (?:any )?(?:manual|overtime|chasing|errors?|rework|a single)\b"
    r"|\bno (?:errors|rework|overtime|issues|problems)\b"
    r"|\bnot (?:only|just|bad)\b|\bnot a single\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(
    r"^\s*(?:but|however|though|although|yet|whereas|while|still|that said|even so"
    r"|nevertheless|in reality|in practice|actually|meanwhile)\b"
    r"|^\s*(?:and\s+)?(?:today|now|currently|right now|at the moment|these days|so far"
    r"|as of (?:today|now|this \w+)|this (?:month|quarter|year|week)|last (?:month|quarter"
    r"|week)|in (?:january|february|march|april|may|june|july|august|september|october"
    r"|november|december))\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r",\s|;\s|\s[-–—]+\s|:\s|\s\(|\)\s?"
    r"|\s(?=(?:but|however|though|although|whereas|while|yet|today|now|currently)\s)",
    re.IGNORECASE,
)
_AFTER_BASELINE = re.compile(
    r"\b(?:down to|up to|to|now|at|took|takes|in|is|it's|we're|hit|reached|only)\s+$", re.I
)
_QUESTION_START = re.compile(
    r"^\s*(?:so\s+|and\s+|quick question[:,]?\s+)?(?:is|are|was|were|do|does|did|can|could"
    r"|would|will|should|have|has|had|am)\s+(?:we|you|it|they|there|this|that|our|the|i|he"
    r"|she|anyone|someone)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """What one sentence asserts about an outcome.

    ``value`` is set only when the stance is ``achieved``; ``candidate`` is the number the
    sentence would give if it were a result (for the reason shown when it is set aside).
    ``approximate`` is True when the customer hedged the number itself ("around 4 hours");
    ``notes`` say why (for confidence_reasons) or why the sentence was set aside.
    """

    stance: Stance
    value: float | None = None
    mention: NumberMention | None = None
    clause: tuple[int, int] | None = None
    approximate: bool = False
    cue: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_proof(self) -> bool:
        return self.stance == "achieved" and self.value is not None

    @property
    def reason(self) -> str:
        """Why the sentence is not proof, in plain words ("" when it is)."""
        if self.is_proof:
            return ""
        text = REASONS[self.stance]
        return f'{text} ("{self.cue}")' if self.cue else text


def clauses(text: str) -> list[tuple[int, int]]:
    """Clauses of a sentence as (start, end): cut at commas, semicolons, dashes, colons,
    brackets and before a contrast ("but", "however", "today")."""
    # The sweep reads each sentence once per outcome: the cut is cached, the list is new.
    return list(_clauses(text))


@lru_cache(maxsize=1 << 14)
def _clauses(text: str) -> tuple[tuple[int, int], ...]:
    bounds, cut = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        # A comma inside a number ("1,320") has no space after it, so it never cuts here.
        if m.start() > cut:
            bounds.append((cut, m.start()))
        cut = m.end() if m.group(0).strip() else m.start() + 1
    bounds.append((cut, len(text)))
    return tuple((s, e) for s, e in bounds if text[s:e].strip())


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        for i in range(max(0, s), min(len(chars), e)):
            chars[i] = " "
    return "".join(chars)


@dataclass
class _Role:
    mention: NumberMention
    role: str  # "value", "baseline", "weak_baseline", "target", "delta", "period", "label",
    # "other_measure"
    mask: tuple[int, int] | None = None  # text the role phrase covers (not a stance cue)


def _role(
    text: str,
    m: NumberMention,
    unit: str,
    is_topic: Callable[[str], bool] | None,
    same_measure: Callable[[str, int, int], bool] | None = None,
) -> _Role:
    fixed = _text_role(text, m)
    if fixed is not None:
        return fixed
    if is_topic is not None:
        topic = _TOPIC_AFTER.match(text[m.end :])
        if topic is not None:
            words = [w.lower() for w in topic.groups()[1:] if w]
            content = [w for w in words if w not in _GENERIC_TOPIC and w not in _MONTH_WORDS]
            if (
                content
                and not any(is_topic(w) for w in words)
                and not _is_unit_word(content[0], unit)
                and not (
                    same_measure is not None
                    and same_measure(text, m.end + topic.start("prep"), m.end + topic.end())
                )
            ):
                return _Role(m, "other_measure")
    before = text[max(0, m.start - 48) : m.start]
    after = text[m.end : m.end + 70]
    if _WEAK_BASELINE_BEFORE.search(before) or _BASELINE_AFTER.match(after):
        return _Role(m, "weak_baseline")
    return _Role(m, "value")


@lru_cache(maxsize=1 << 15)
def _text_role(text: str, m: NumberMention) -> _Role | None:
    """The roles the words around ``m`` decide alone (label, delta, target, baseline, period),
    whatever the outcome: cached, as the sweep reads each sentence once per outcome (a
    ``_Role`` is never changed once made). None: the outcome's words decide."""
    before = text[max(0, m.start - 48) : m.start]
    after = text[m.end : m.end + 70]
    if _LABEL_BEFORE.search(before[-14:]) and not re.search(r"\bper\s*$", before, re.I):
        return _Role(m, "label")
    if _DELTA_BEFORE.search(before) or (
        _DELTA_AFTER.match(after) and not re.match(r"^\s*(?:than|or more|or less)", after, re.I)
    ):
        return _Role(m, "delta")
    target_after = _TARGET_AFTER.match(after)
    if target_after and not _COMPARED.search(target_after.group(0)):
        return _Role(m, "target", (m.end, m.end + target_after.end()))
    target_before = _TARGET_BEFORE.search(before)
    if target_before:
        return _Role(m, "target", (m.start - len(before) + target_before.start(), m.start))
    if _BASELINE_BEFORE.search(before):
        return _Role(m, "baseline")
    if (m.unit or "") in _TIME_UNITS | {"day", "week", "month", "year", "hour", "minute"} and (
        _PERIOD_BEFORE.search(before[-40:]) or _PERIOD_AFTER.match(text[m.end :])
    ):
        return _Role(m, "period")
    return None


def _other_unit(m: NumberMention, unit: str) -> bool:
    """True when ``m`` is written in a unit other than ``unit`` ("4 hours" for days)."""
    if m.unit is None or m.unit in unit_forms(unit):
        return False
    known = set().union(*_UNIT_SYNONYMS.values()) | {"%", "x", "USD", "EUR", "GBP", "years"}
    return m.unit in known


def _is_unit_word(word: str, unit: str) -> bool:
    return word in unit_forms(unit) or word in COUNT_UNITS


_CUE_OF = dict(_CUES)


@lru_cache(maxsize=1 << 15)
def _cue(stance: str, text: str) -> str | None:
    pattern = _CUE_OF[stance]
    found = pattern.search(text)
    return found.group(0) if found else None


def _stance_of(
    text: str,
    clauses: list[tuple[int, int]],
    index: int,
    masked: str,
    question: bool,
    is_topic: Callable[[str], bool] | None = None,
) -> tuple[Stance, str | None]:
    """The stance governing clause ``index``: cues in it and in the clauses before it back to
    the last contrast, plus a following clause that sets a condition."""
    if question:
        return "question", "?"
    lo = index
    while lo > 0 and not _CONTRAST.match(text[clauses[lo][0] : clauses[lo][1]]):
        lo -= 1
    scope = [masked[s:e] for s, e in clauses[lo : index + 1]]
    for s, e in clauses[index + 1 :]:
        part = masked[s:e]
        if re.match(r"^\s*(?:if|unless|assuming|provided|as long as|once)\b", part, re.I):
            scope.append(part)
        else:
            break
    joined = " | ".join(scope)
    if is_complaint(text, is_topic):
        found = COMPLAINT.search(text)
        return "complaint", found.group(0) if found else None
    for stance in ("conditional", "negation", "guess", "hope"):
        cue = _cue(stance, joined)
        if cue:
            return stance, cue
    return "achieved", None


@lru_cache(maxsize=1 << 14)
def _plan_comparisons(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of "more than we planned"-like phrases (masked as no stance cue), per sentence."""
    return tuple((c.start(), c.end()) for c in _PLAN_COMPARISON.finditer(text))


def read_statement(
    text: str,
    unit: str,
    *,
    is_topic: Callable[[str], bool] | None = None,
    same_measure: Callable[[str, int, int], bool] | None = None,
    question: bool = False,
) -> Reading:
    """Read one sentence of the customer's for an outcome measured in ``unit``.

    ``is_topic(word)`` says whether a word names the outcome's measure (its title's words,
    aliases): it binds bare counts ("1,310 work orders") and sets aside numbers about
    another measure ("25 hours on expense reports"). ``same_measure(text, start, end)`` is
    asked when the words after a number (``text[start:end]``, "on the survey") share no word
    with the outcome: True when they name its measure in other words (the drafter answers
    by meaning, clerk.drafting.matching). ``question`` is True when the sentence ended with a
    question mark in its source (a quote drops it).
    """
    question = question or bool(re.search(r"\?\s*$", text))
    if _QUESTION_START.match(text):
        question = True
    mentions = numbers_in(text)
    units = [m for m in mentions if in_unit(text, m, unit, is_topic)]
    roles = [_role(text, m, unit, is_topic, same_measure) for m in units]
    # "from nine days to six": a bare number after "to" carries the baseline's unit.
    olds = [r for r in roles if r.role == "baseline"]
    if olds:
        for m in mentions:
            if m in units or m.start < olds[0].mention.end:
                continue
            lead = text[max(0, m.start - 14) : m.start]
            if _AFTER_BASELINE.search(lead) and not _other_unit(m, unit):
                roles.append(_Role(m, "value"))
    roles.sort(key=lambda r: r.mention.start)
    masks = [r.mask for r in roles if r.mask is not None]
    # A plan named beside a number in another unit ("the 1,000 we planned") is no hedge.
    masks += [
        r.mask
        for m in mentions
        if m not in units
        for r in [_role(text, m, unit, None)]
        if r.mask is not None
    ]
    if is_topic is not None:
        # "tickets resolved without escalation": a negation inside the outcome's own name.
        for neg in re.finditer(r"\b(?:without|no|non|zero)[ -]([A-Za-z]+)", text, re.I):
            if is_topic(neg.group(1)):
                masks.append((neg.start(), neg.end()))
    masks += _plan_comparisons(text)
    masked = _masked(text, masks)
    parts = clauses(text) or [(0, len(text))]
    values = [r for r in roles if r.role in ("value", "weak_baseline")]
    if len(values) > 1 and any(r.role == "value" for r in values):
        values = [r for r in values if r.role == "value"]
    if not values:
        stance, cue = _stance_of(text, parts, 0, masked, question, is_topic)
        targets = [r for r in roles if r.role == "target"]
        if targets and stance in ("achieved", "hope"):
            return Reading("hope", mention=targets[0].mention, cue="a target or plan")
        if stance == "achieved" or not units:
            set_aside = [f"{r.mention.text}: {r.role.replace('_', ' ')}" for r in roles]
            return Reading("no_value", notes=set_aside)
        return Reading(stance, cue=cue)
    readings: list[Reading] = []
    for r in values:
        m = r.mention
        index = next((i for i, (s, e) in enumerate(parts) if s <= m.start < e), 0)
        stance, cue = _stance_of(text, parts, index, masked, question, is_topic)
        s, e = parts[index]
        lead = text[max(s, m.start - 24) : m.start]
        approximate = bool(_APPROX_NEAR.search(lead) or _APPROX_AFTER.match(text[m.end :]))
        notes = []
        if approximate:
            word = _APPROX_NEAR.search(lead) or _APPROX_AFTER.match(text[m.end :])
            said = word.group(0).strip() if word else "about"
            notes.append(f'the customer gave an approximate value ("{said} {m.text}")')
        if stance == "achieved":
            readings.append(Reading("achieved", m.value, m, (s, e), approximate, None, notes))
        else:
            readings.append(Reading(stance, None, m, (s, e), approximate, cue, notes))
    achieved = [r for r in readings if r.stance == "achieved"]
    if not achieved:
        return readings[-1]
    # The current value wins: the one said as now / today / at / to, else the last one.
    current = [
        r
        for r in achieved
        if r.mention is not None
        and _CURRENT_BEFORE.search(text[max(0, r.mention.start - 30) : r.mention.start])
    ]
    return (current or achieved)[-1] if len({r.value for r in achieved}) > 1 else achieved[0]
