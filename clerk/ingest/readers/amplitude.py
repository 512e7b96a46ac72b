"""Amplitude Export API: a zip of gzipped JSON-lines files, one event per line.

Fields used: ``$insert_id`` (else ``uuid``) as identity, ``event_type``, ``event_time``
(``"YYYY-MM-DD HH:MM:SS.ffffff"``, UTC), ``groups`` (group type -> name or list of names:
the account, for B2B), ``user_id``, ``event_properties``. Routing tries every group value,
then ``user_id``. ``$identify`` / ``$groupidentify`` records set properties, not usage.
"""

from __future__ import annotations

from typing import Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import (
    EventError,
    ParsedEvent,
    Subject,
    data_of,
    missing,
    numbers_in_data,
    text_of,
)
from clerk.ingest.readers.base import NotUsage, ReadContext, Shape, subject_text, subjects

PROPERTY_UPDATES = frozenset({"$identify", "$groupidentify"})


def detect(obj: dict[str, Any]) -> bool:
    return "event_type" in obj and ("$insert_id" in obj or "uuid" in obj)


def _group_values(groups: Any) -> list[str]:
    values: list[str] = []
    if type(groups) is not dict or not groups:
        return values
    if len(groups) == 1:  # the common case: one group type, one account
        (only,) = groups.values()
        if type(only) is list and len(only) == 1 and type(only[0]) is str and only[0]:
            return [only[0]]
    for value in groups.values():
        for item in value if type(value) is list else [value]:
            text = subject_text(item)
            if text:
                values.append(text)
    return values


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    get = obj.get
    kind, ident, when, props, user = (
        get("event_type"),
        get("$insert_id"),
        get("event_time"),
        get("event_properties"),
        get("user_id"),
    )
    groups = _group_values(get("groups"))
    if (  # fast path: a usage event with everything in place; the rest is checked below
        type(kind) is str
        and kind
        and kind[0] != "$"
        and type(ident) is str
        and ident
        and type(when) is str
        and type(props) is dict
        and len(groups) == 1
    ):
        group = groups[0]
        subject: Subject = (group, user) if type(user) is str and user and user != group else group
        return (
            event_source_id("amplitude", ident),
            subject,
            kind,
            ctx.window.event_time(when, "event_time"),
            numbers_in_data(props),
        )
    return _parse_slowly(obj, ctx)


def _parse_slowly(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    kind = text_of(obj, "event_type")
    if kind in PROPERTY_UPDATES:
        raise NotUsage(f"Amplitude {kind} record")
    ident = subject_text(obj.get("$insert_id")) or subject_text(obj.get("uuid"))
    if ident is None:
        raise EventError("missing field '$insert_id' (and 'uuid')", "$insert_id")
    candidates = _group_values(obj.get("groups"))
    user = subject_text(obj.get("user_id"))
    if user:
        candidates.append(user)
    return (
        event_source_id("amplitude", ident),
        subjects(candidates, "groups, user_id"),
        kind,
        ctx.window.event_time(obj["event_time"], "event_time")
        if obj.get("event_time") is not None
        else missing("event_time"),
        data_of(obj.get("event_properties"), "event_properties"),
    )


SHAPE = Shape("amplitude", "Amplitude export", detect, parse)
