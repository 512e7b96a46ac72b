"""Stable ids: of drafts (derived from what a draft rests on) and of sources (FORMATS).

Draft ids derive from (account, outcome, kind, period, evidence key), never from the wording,
so a re-run finds its own earlier work instead of adding twins. Source ids are built and
parsed only here (``ticket:<id>``, ``note:<account>/<file>``, ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from clerk.domain.models import Period, ProofItem


def digest(*parts: Any) -> str:
    """A short, stable hash of JSON-able parts."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _period_key(period: Period | None) -> tuple[str | None, str | None]:
    if period is None:
        return None, None
    return period.start.isoformat(), period.end.isoformat()


def evidence_key(item: ProofItem, drafter: str) -> str:
    """What an item rests on: its numbers and sources, or its quotes; never its wording.

    The drafter's name is part of it so switching drafters redrafts pending items.
    """
    calc = item.calculation
    calc_key = None
    if calc is not None:
        calc_key = [calc.formula, [(i.name, i.value, i.source, i.cited_as) for i in calc.inputs]]
    cites = sorted((c.source, c.start, c.end) for c in item.citations)
    return digest(drafter, calc_key, cites, item.target, item.delivered)


def item_id(item: ProofItem, key: str) -> str:
    """``pi_`` + hash of (account, outcome, kind, period, evidence key)."""
    return "pi_" + digest(item.account, item.outcome, item.kind, _period_key(item.period), key)


def gap_id(account: str, outcome: str | None, kind: str, period: Period | None, key: str) -> str:
    """``gf_`` + hash of (account, outcome, kind, period, evidence key).

    The key names what the gap is about (an input, the cited sources), not the current
    numbers, so a shortfall that deepens stays the same flag.
    """
    return "gf_" + digest(account, outcome, kind, _period_key(period), key)


# --- source ids (FORMATS §"Source ids"): built and read here only -------------------------

SourceScheme = Literal["ticket", "note", "digest", "metric", "assumption", "event", "outcome", ""]
_SCHEMES: tuple[str, ...] = ("ticket", "note", "digest", "metric", "assumption", "event", "outcome")
# Citations of data rather than text: they carry no quote to check verbatim.
DATA_SCHEMES: tuple[str, ...] = ("metric", "event", "assumption")


def ticket_source_id(ticket_id: object) -> str:
    """``ticket:<id>``: the ticket's subject and description (and satisfaction comment)."""
    return f"ticket:{ticket_id}"


def comment_source_id(ticket_id: object, comment_id: object) -> str:
    """``ticket:<id>#<comment id>``: one comment on a ticket."""
    return f"ticket:{ticket_id}#{comment_id}"


def note_source_id(account_id: str, file_name: str) -> str:
    """``note:<account>/<file name>``: a call note or email as read."""
    return f"note:{account_id}/{file_name}"


def digest_source_id(account_id: str, event_type: str, month: str) -> str:
    """``digest:<account>/<event type>/<YYYY-MM>``: a month's usage digest."""
    return f"digest:{account_id}/{event_type}/{month}"


def event_source_id(source: str, event_id: str) -> str:
    """``event:<system>/<id>``: one usage event (CloudEvents source, lago, csv, segment, ...)."""
    return f"event:{source}/{event_id}"


def assumption_source_id(outcome_id: str, input_name: str) -> str:
    """``assumption:<outcome id>.<input name>``: a value-case assumption used as an input."""
    return f"assumption:{outcome_id}.{input_name}"


def outcome_source_id(outcome_id: str, start: dt.date, end: dt.date) -> str:
    """``outcome:<id>@<start>..<end>``: an input citing another outcome's value."""
    return f"outcome:{outcome_id}@{start.isoformat()}..{end.isoformat()}"


def metric_source_id(metric: str, where: str, start: dt.date, end: dt.date) -> str:
    """``metric:<type>?<where>@<start>..<end>``; no ``?`` part when ``where`` is empty.

    ``where`` is the filter already written as ``k=v&...`` (sorted by the caller's rules).
    """
    qs = f"?{where}" if where else ""
    return f"metric:{metric}{qs}@{start.isoformat()}..{end.isoformat()}"


@dataclass(frozen=True)
class SourceRef:
    """A source id read back into its parts; ``scheme`` is "" for an id of no known form.

    ``ticket_id``/``comment_id`` for tickets and comments; ``account_id`` and ``name`` (the
    note's file name, the digest's event type) for notes and digests; ``name`` is the metric's
    event type or the assumption's input name, ``outcome_id`` the assumption's outcome.
    """

    raw: str
    scheme: SourceScheme
    ticket_id: str | None = None
    comment_id: str | None = None
    account_id: str | None = None
    name: str | None = None
    outcome_id: str | None = None
    month: str | None = None

    @property
    def thread(self) -> str:
        """The ticket a comment belongs to (``ticket:<id>``); any other source is its own."""
        return ticket_source_id(self.ticket_id) if self.ticket_id is not None else self.raw

    @property
    def is_data(self) -> bool:
        """A citation of usage data or an assumption rather than of text."""
        return self.scheme in DATA_SCHEMES


def parse_source_id(source_id: str) -> SourceRef:
    """Read a source id built by the functions above; never raises."""
    prefix, sep, rest = source_id.partition(":")
    if not sep or prefix not in _SCHEMES:
        return SourceRef(source_id, "")
    scheme = cast(SourceScheme, prefix)
    if scheme == "ticket":
        ticket, hash_, comment = rest.partition("#")
        return SourceRef(source_id, scheme, ticket_id=ticket, comment_id=comment if hash_ else None)
    if scheme == "note":
        account, _, name = rest.partition("/")
        return SourceRef(source_id, scheme, account_id=account, name=name)
    if scheme == "digest":
        account, _, tail = rest.partition("/")
        event_type, _, month = tail.rpartition("/")
        return SourceRef(source_id, scheme, account_id=account, name=event_type, month=month)
    if scheme == "assumption":
        outcome, _, name = rest.partition(".")
        return SourceRef(source_id, scheme, outcome_id=outcome, name=name)
    if scheme == "metric":
        return SourceRef(source_id, scheme, name=re.split(r"[?@]", rest, maxsplit=1)[0])
    if scheme == "outcome":
        return SourceRef(source_id, scheme, outcome_id=rest.partition("@")[0])
    return SourceRef(source_id, scheme, name=rest)
