"""Lago usage events: the bare event, the ``{"event": {...}}`` and ``{"events": [...]}``
request bodies, and the list-events export ``{"events": [...], "meta": {...}}`` (wrappers
are taken off by :mod:`clerk.ingest.readers.framing`).

Identity is ``transaction_id``. Routing: ``external_customer_id``, then
``external_subscription_id`` (Lago's newer API sends only the subscription), whichever an
account claims in ``usage_subjects``.
"""

from __future__ import annotations

from typing import Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import ParsedEvent, data_of, missing, text_of
from clerk.ingest.readers.base import ReadContext, Shape, subject_text, subjects

ACCOUNT_FIELDS = ("external_customer_id", "external_subscription_id")


def detect(obj: dict[str, Any]) -> bool:
    return "transaction_id" in obj


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    candidates = [s for s in (subject_text(obj.get(f)) for f in ACCOUNT_FIELDS) if s]
    return (
        event_source_id("lago", text_of(obj, "transaction_id")),
        subjects(candidates, ", ".join(ACCOUNT_FIELDS)),
        text_of(obj, "code"),
        ctx.window.event_time(obj["timestamp"], "timestamp")
        if obj.get("timestamp") is not None
        else missing("timestamp"),
        data_of(obj.get("properties"), "properties"),
    )


SHAPE = Shape("lago", "Lago events", detect, parse)
