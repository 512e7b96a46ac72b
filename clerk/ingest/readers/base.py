"""The reader interface: a usage shape recognises its records and turns them into events.

A :class:`Shape` is two functions, ``detect`` (cheap: a few key lookups on the decoded
record) and ``parse`` (one record -> :data:`ParsedEvent`, or :class:`NotUsage` for records the
system exports beside its usage events, such as Segment identify calls). The registry in
:mod:`clerk.ingest.readers` tries them in order; a new system is one more module and one
more entry, and readers of other kinds of records (tickets) can follow the same pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clerk.ingest.events import EventError, ParsedEvent, Subject, TimeWindow

DEFAULT_GROUP_KEYS = ("company_id", "account_id", "organization_id", "$group_id")


class NotUsage(Exception):  # noqa: N818 - a record, not an error
    """A record of a known system that is not a usage event (counted, not rejected)."""

    def __init__(self, what: str) -> None:  # singular: "Segment identify call"
        super().__init__(what)
        self.what = what


@dataclass
class ReadContext:
    """What parsing needs beyond the record: the time window and configurable keys."""

    window: TimeWindow = field(default_factory=TimeWindow)
    group_keys: tuple[str, ...] = DEFAULT_GROUP_KEYS


@dataclass(frozen=True)
class Shape:
    """One export shape of one system."""

    name: str  # short, stable: "segment"
    label: str  # for people: "Segment track calls"
    detect: Callable[[dict[str, Any]], bool]
    parse: Callable[[dict[str, Any], ReadContext], ParsedEvent]


def get_path(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; a key that itself contains dots is found first."""
    if type(obj) is dict and path in obj:
        return obj[path]
    for part in path.split("."):
        if type(obj) is not dict:
            return None
        obj = obj.get(part)
    return obj


def subject_text(value: Any) -> str | None:
    """An account field's value as text: strings and integers, nothing else."""
    if type(value) is str:
        return value or None
    if type(value) is int:
        return str(value)
    return None


def subjects(candidates: list[str], fields: str) -> Subject:
    """The subject of an event from its candidates, best first; none is an error."""
    unique = list(dict.fromkeys(candidates))
    if not unique:
        raise EventError(f"no account field: {fields} all missing", fields.split(",")[0])
    return unique[0] if len(unique) == 1 else tuple(unique)
