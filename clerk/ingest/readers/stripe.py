"""Stripe billing meter events, v1 (``billing.meter_event``, epoch ``timestamp``) and v2
(``v2.billing.meter_event``, ISO 8601 ``timestamp``).

``identifier`` is the identity, ``event_name`` the type; the ``payload`` (all string values)
is the data, with ``value`` a number by the numeric-string rule. ``payload.stripe_customer_id``
routes the event (a meter whose ``customer_mapping.event_payload_key`` differs is mapped in
``usage/mapping.yaml``).
"""

from __future__ import annotations

from typing import Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import EventError, ParsedEvent, missing, numbers_in_data, text_of
from clerk.ingest.readers.base import ReadContext, Shape, subject_text

CUSTOMER_KEY = "stripe_customer_id"


def _is_meter_event(obj: dict[str, Any]) -> bool:
    return "event_name" in obj and type(obj.get("payload")) is dict


def detect_v2(obj: dict[str, Any]) -> bool:
    return _is_meter_event(obj) and (
        obj.get("object") == "v2.billing.meter_event" or type(obj.get("timestamp")) is str
    )


def detect_v1(obj: dict[str, Any]) -> bool:
    return _is_meter_event(obj) and not detect_v2(obj)


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    payload = dict(obj["payload"])
    customer = subject_text(payload.pop(CUSTOMER_KEY, None))
    if customer is None:
        raise EventError(f"missing field 'payload.{CUSTOMER_KEY}'", f"payload.{CUSTOMER_KEY}")
    return (
        event_source_id("stripe", text_of(obj, "identifier")),
        customer,
        text_of(obj, "event_name"),
        ctx.window.event_time(obj["timestamp"], "timestamp")
        if obj.get("timestamp") is not None
        else missing("timestamp"),
        numbers_in_data(payload),
    )


SHAPE_V1 = Shape("stripe_v1", "Stripe meter events (v1)", detect_v1, parse)
SHAPE_V2 = Shape("stripe_v2", "Stripe meter events (v2)", detect_v2, parse)
