"""CloudEvents 1.0 in structured mode, as OpenMeter ingests and lists them.

OpenMeter takes one event (``application/cloudevents+json``) or a batch, a JSON array
(``application/cloudevents-batch+json``); its list-events API returns
``[{"event": {...}, "ingestedAt": ..., "storedAt": ...}]``. The wrappers are taken off by
:mod:`clerk.ingest.readers.framing`; this module reads the event itself. Identity is
``(source, id)``; the subject routes it.
"""

from __future__ import annotations

from typing import Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import ParsedEvent, data_of, missing, numbers_in_data, text_of
from clerk.ingest.readers.base import ReadContext, Shape


def detect(obj: dict[str, Any]) -> bool:
    return "specversion" in obj or ("source" in obj and "type" in obj and "id" in obj)


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    get = obj.get
    source, ident, subject, kind, data = (
        get("source"),
        get("id"),
        get("subject"),
        get("type"),
        get("data"),
    )
    if (  # fast path for the well-formed event; anything else gets a precise error below
        type(source) is str
        and source
        and type(ident) is str
        and ident
        and type(subject) is str
        and subject
        and type(kind) is str
        and kind
        and type(data) is dict
        and "time" in obj
    ):
        return (
            event_source_id(source, ident),
            subject,
            kind,
            ctx.window.event_time(obj["time"], "time"),
            numbers_in_data(data),
        )
    return (
        event_source_id(text_of(obj, "source"), text_of(obj, "id")),
        text_of(obj, "subject"),
        text_of(obj, "type"),
        ctx.window.event_time(obj["time"], "time") if "time" in obj else missing("time"),
        data_of(obj.get("data"), "data"),
    )


SHAPE = Shape("cloudevents", "CloudEvents", detect, parse)
