"""Mixpanel Raw Event Export: JSON lines ``{"event": ..., "properties": {...}}``.

``properties.time`` is epoch seconds (milliseconds with ``time_in_ms``), ``$insert_id`` the
identity, ``distinct_id`` the user. Routing tries the group-key properties first (Settings
``mixpanel_group_keys``; default company_id, account_id, organization_id, $group_id), then
``distinct_id``. Mixpanel projects created before 2023 may export times in the project's
time zone; the clerk reads every epoch as UTC.
"""

from __future__ import annotations

from typing import Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import EventError, ParsedEvent, numbers_in_data, text_of
from clerk.ingest.readers.base import ReadContext, Shape, subject_text, subjects

OWN_FIELDS = ("time", "distinct_id", "$insert_id")


def detect(obj: dict[str, Any]) -> bool:
    props = obj.get("properties")
    return type(obj.get("event")) is str and type(props) is dict and "time" in props


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    props = obj["properties"]
    ident = subject_text(props.get("$insert_id"))
    if ident is None:
        raise EventError("missing field 'properties.$insert_id'", "properties.$insert_id")
    candidates: list[str] = []
    for key in ctx.group_keys:
        value = props.get(key)
        for item in value if type(value) is list else [value]:
            text = subject_text(item)
            if text:
                candidates.append(text)
    user = subject_text(props.get("distinct_id"))
    if user:
        candidates.append(user)
    data = {k: v for k, v in props.items() if k not in OWN_FIELDS}
    return (
        event_source_id("mixpanel", ident),
        subjects(candidates, ", ".join([*ctx.group_keys, "distinct_id"])),
        text_of(obj, "event"),
        ctx.window.event_time(props["time"], "properties.time"),
        numbers_in_data(data),
    )


SHAPE = Shape("mixpanel", "Mixpanel raw export", detect, parse)
