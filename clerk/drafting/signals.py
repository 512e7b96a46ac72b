"""Negative signals: the customer, in the period, saying the workflow behind an outcome fails.

Also home of the text rules the extractive drafter shares with it: which sentences of the
evidence are the customer's own words (with absolute offsets into the source text), keyword
forms of an outcome, and the cues for complaints, fixes and text that tries to instruct us.

Precision matters more than recall here: a flag sends a CSM to chase a problem, so a
complaint must be the customer's, dated in the period, about this outcome, and not resolved
since: a solved ticket the customer did not complain on again (or confirmed as fixed), or a
complaint the customer later said was fixed, is history, not a signal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from clerk.domain.ids import parse_source_id, ticket_source_id
from clerk.domain.models import Citation, Outcome, SignalDraft, Source
from clerk.domain.stance import COMPLAINT, FIX, is_complaint, is_fix
from clerk.drafting.base import DraftRequest

__all__ = [
    "Passage",
    "complaint",
    "customer_passages",
    "is_fix",
    "keyword_hits",
    "looks_like_instruction",
    "negative_signals",
    "outcome_keywords",
    "stem",
]

MAX_SIGNALS = 3
MIN_KEYWORD_HITS = 2
SIGNAL_REASON = 'The customer reported a problem with {what} on {date}: "{quote}"'
RESOLVED_STATUSES = {"solved", "closed"}

# Words too common in this domain to tie a sentence to one outcome.
_STOPWORDS = {
    "a", "an", "the", "and", "or", "of", "on", "in", "to", "for", "with", "per", "by", "at",
    "from", "into", "over", "under", "our", "their", "product", "time", "number", "total",
    "rate", "count", "completed", "working", "work", "use", "used", "using", "team",
    "people", "customer", "account", "value", "amount", "event", "events", "days", "day",
    "through", "via", "all", "any", "each", "every", "new", "more", "less", "is", "are", "was",
}  # fmt: skip
_SUFFIXES = ("ings", "ing", "ions", "ion", "ers", "er", "als", "al", "ed", "es", "s", "e")
# Forms the suffix rule cannot join: "auto-approval" is about "approvals_automated".
_ALIASES = {"auto": "automat", "automatic": "automat", "automatically": "automat"}
_TOKEN = re.compile(r"[A-Za-z]+")

# The complaint and fix cues live with the stance rules (a complaint is never proof).
_COMPLAINT = COMPLAINT
_FIX = FIX
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier)"
    r"|\bsystem prompt\b|\byou are (?:an?\s+)?(?:ai|assistant|language model|chatbot)\b"
    r"|\bas an ai\b|\b(?:new|these) instructions\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n|\n(?=\s*[-*#>])")


@dataclass(frozen=True)
class Passage:
    """A sentence of the customer's own words; ``text == source.text[start:end]``."""

    source_id: str
    kind: str
    text: str
    start: int
    end: int
    date: dt.datetime

    def citation(self) -> Citation:
        return Citation(source=self.source_id, quote=self.text, start=self.start, end=self.end)


# The sweep asks about the same words and sentences once per outcome of an account: the pure
# helpers below are cached (bounded), which took a third off the extractive drafting stage.
@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A crude stem that makes "closed", "closing" and "close" (or "approvals", "approving")
    meet; good enough to tie a sentence to an outcome's title, not a linguistic claim."""
    word = word.lower()
    if word in _ALIASES:
        return _ALIASES[word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=1 << 14)
def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in _TOKEN.findall(text) if t.lower() not in _STOPWORDS)


def outcome_keywords(outcome: Outcome, *, with_inputs: bool = False) -> set[str]:
    """Stems that tie a sentence to ``outcome``: its title (and its inputs' metric and
    names when ``with_inputs``), without its unit, which says nothing about the topic."""
    words = set(_stems(outcome.title))
    if with_inputs:
        for inp in outcome.inputs:
            words |= _stems(" ".join(filter(None, [inp.name, inp.metric, inp.outcome])))
    return words - _stems(outcome.unit) - {stem(outcome.unit)}


def keyword_hits(text: str, keywords: Iterable[str]) -> int:
    """How many of ``keywords`` (stems) occur in ``text``."""
    return len(_stems(text) & set(keywords))


def complaint(text: str, topic: Iterable[str] = ()) -> bool:
    """True when ``text`` reports something failing (and is not itself reporting a fix).
    ``topic``: stems of the outcome's own words, which are its name, never a fix cue
    ("tickets resolved by self-service")."""
    stems = set(topic)
    return is_complaint(text, (lambda w: stem(w) in stems) if stems else None)


@lru_cache(maxsize=1 << 14)  # the drafter asks it of each sentence once per outcome
def looks_like_instruction(text: str) -> bool:
    """True for text written to steer a drafter ("ignore previous instructions and ...")."""
    return bool(_INSTRUCTION.search(text))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _sentences(
    text: str, offset: int, source_id: str, kind: str, date: dt.datetime
) -> list[Passage]:
    """Split ``text`` (found at ``offset`` in its source) into trimmed sentences."""
    out: list[Passage] = []
    cut = 0
    bounds = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for bound in bounds:
        piece = text[cut:bound]
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip().rstrip(".!?;:,").rstrip()
        if re.search(r"[A-Za-z]", body):
            start = offset + cut + lead
            out.append(Passage(source_id, kind, body, start, start + len(body), _utc(date)))
        cut = bound
    return out


def customer_passages(request: DraftRequest) -> list[Passage]:
    """Every sentence of the customer's own words in the request's evidence, deduplicated.

    Offsets are absolute in the source's text. With the source at hand its customer spans
    decide (a vendor's note is the customer's only inside quotation marks); without it the
    passage's own ``customer`` flag does. Usage digests are never the customer's words.
    """
    seen: set[tuple[str, int, int]] = set()
    out: list[Passage] = []
    for ev in request.evidence:
        if ev.kind == "usage_digest":
            continue
        source = request.sources.get(ev.source_id)
        if source is not None:
            if source.account_id != request.account.id:
                continue  # never quote another account's words, whatever retrieval returned
            lo, hi = ev.start, ev.end
            if hi <= lo:  # a passage without offsets: locate it, else take the whole source
                found = source.text.find(ev.text) if ev.text else -1
                lo, hi = (found, found + len(ev.text)) if found >= 0 else (0, len(source.text))
            # Whole sentences of the customer's words that the passage touches, so two chunks
            # cut at different places still yield the same quotes.
            found_here = [p for p in _customer_words(source) if p.start < hi and lo < p.end]
        elif ev.customer:
            found_here = _sentences(ev.text, ev.start, ev.source_id, ev.kind, ev.date)
        else:
            found_here = []
        for passage in found_here:
            key = (passage.source_id, passage.start, passage.end)
            if key not in seen:
                seen.add(key)
                out.append(passage)
    return out


def _customer_words(source: Source) -> tuple[Passage, ...]:
    spans = tuple((span.start, span.end) for span in source.customer_spans)
    return _spans_sentences(source.id, source.kind, source.text, source.date, spans)


@lru_cache(maxsize=4096)
def _spans_sentences(
    source_id: str, kind: str, text: str, date: dt.datetime, spans: tuple[tuple[int, int], ...]
) -> tuple[Passage, ...]:
    out: list[Passage] = []
    for start, end in spans:
        out += _sentences(text[start:end], start, source_id, kind, date)
    return tuple(out)


def _ticket_id(source: Source | None, source_id: str) -> str | None:
    if source is not None and source.meta.get("ticket_id") is not None:
        return str(source.meta["ticket_id"])
    return parse_source_id(source_id).ticket_id


def _resolved(
    passage: Passage,
    request: DraftRequest,
    keywords: set[str],
    passages: list[Passage] | None = None,
) -> bool:
    """True when something after ``passage`` (up to as-of) shows the complaint was settled.

    ``passages``: ``customer_passages(request)`` when the caller has them already."""
    as_of = request.as_of
    source = request.sources.get(passage.source_id)
    ticket_id = _ticket_id(source, passage.source_id)
    if ticket_id is None:
        # A note or email: settled if the customer later says it is fixed, on the same topic.
        topic = _stems(passage.text) & keywords or _stems(passage.text)
        for other in request.sources.values():
            if other.account_id != request.account.id or _utc(other.date) <= passage.date:
                continue
            if other.date.date() > as_of:
                continue
            for words in _customer_words(other):
                if (
                    is_fix(words.text)
                    and not _COMPLAINT.search(words.text)
                    and (_stems(words.text) & topic)
                ):
                    return True
        return False
    ticket = request.sources.get(ticket_source_id(ticket_id))
    thread = [
        s
        for s in request.sources.values()
        if s.kind == "ticket_comment" and _ticket_id(s, s.id) == ticket_id
    ]
    later = [
        p
        for s in thread
        if _utc(s.date) > passage.date and s.date.date() <= as_of
        for p in _customer_words(s)
    ]
    # Retrieval may hand over comments the sources map lacks; they count as well.
    known = {(p.source_id, p.start) for p in later}
    later += [
        p
        for p in (customer_passages(request) if passages is None else passages)
        if (ref := parse_source_id(p.source_id)).ticket_id == ticket_id
        and ref.comment_id is not None
        and p.date > passage.date
        and p.date.date() <= as_of
        and (p.source_id, p.start) not in known
    ]
    later.sort(key=lambda p: p.date)
    if later:
        # The customer's latest word on the thread decides: a confirmation or a new complaint.
        last_date = later[-1].date
        last = [p for p in later if p.date == last_date]
        if any(complaint(p.text, keywords) for p in last):
            return False
        if any(is_fix(p.text) for p in last):
            return True
    meta = dict(ticket.meta) if ticket is not None else {}
    for s in [source, *thread]:
        if s is not None and not meta.get("status"):
            meta["status"] = s.meta.get("ticket_status") or s.meta.get("status")
    if str(meta.get("satisfaction_score") or "").lower() == "bad":
        return False
    return str(meta.get("status") or "").lower() in RESOLVED_STATUSES


def _thread(passage: Passage, request: DraftRequest) -> str:
    ticket_id = _ticket_id(request.sources.get(passage.source_id), passage.source_id)
    return ticket_source_id(ticket_id) if ticket_id else passage.source_id


def negative_signals(request: DraftRequest) -> list[SignalDraft]:
    """Customer complaints in the request's period about this outcome, still unresolved.

    One signal per ticket thread or note (its latest complaint), newest first, at most
    ``MAX_SIGNALS``; each cites the customer's sentence verbatim.
    """
    keywords = outcome_keywords(request.outcome, with_inputs=True)
    title = outcome_keywords(request.outcome)
    # One shared word ("claim" in an account whose every outcome is about claims) is not
    # enough to pin a complaint on this outcome: ask for a word of its title and two words
    # in all, unless the title has only one ("Underwriters working in the product").
    need = min(MIN_KEYWORD_HITS, len(title))
    period = request.period
    best: dict[str, Passage] = {}
    passages = customer_passages(request)
    for n, passage in enumerate(passages):
        day = passage.date.date()
        if not (period.start <= day < period.end) or day > request.as_of:
            continue
        if not complaint(passage.text, title) or looks_like_instruction(passage.text):
            continue
        context = _with_neighbours(passages, n)
        if not keyword_hits(context, title) or keyword_hits(context, keywords) < need:
            continue
        if _resolved(passage, request, keywords, passages):
            continue
        thread = _thread(passage, request)
        if thread not in best or _strength(passage, keywords) > _strength(best[thread], keywords):
            best[thread] = passage
    chosen = sorted(best.values(), key=lambda p: p.date, reverse=True)[:MAX_SIGNALS]
    what = request.outcome.title[:1].lower() + request.outcome.title[1:]
    return [
        SignalDraft(
            reason=SIGNAL_REASON.format(what=what, date=_day(p.date), quote=p.text),
            citations=[p.citation()],
        )
        for p in chosen
    ]


def _with_neighbours(passages: list[Passage], n: int) -> str:
    """The sentence with the customer's sentences right before and after it in its source:
    "Approvals are not working. Invoices pile up." is about invoice approvals as a whole."""
    here = passages[n]
    near = [
        p.text
        for p in passages[max(0, n - 1) : n + 2]
        if p.source_id == here.source_id and abs(p.start - here.start) < 400
    ]
    return " ".join(near)


def _strength(passage: Passage, keywords: set[str]) -> tuple[dt.datetime, int, int, int]:
    """Newest first; on the same day the sentence that ties more cues and keywords wins."""
    cues = len(_COMPLAINT.findall(passage.text))
    return passage.date, keyword_hits(passage.text, keywords), cues, len(passage.text)


def _day(moment: dt.datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"
