"""Segment track calls, as Segment's S3 / webhook destinations write them (one JSON per line).

A track call: ``{"type": "track", "messageId", "event", "timestamp", "userId",
"context": {"groupId": ...}, "properties": {...}}``. Identity is ``messageId``; routing is
``context.groupId`` (the account, for B2B), then ``userId``. The export also carries
identify, group, page and screen calls: they are counted and left out, not rejected.
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

CALLS = frozenset({"track", "identify", "group", "page", "screen", "alias"})


def detect(obj: dict[str, Any]) -> bool:
    return "messageId" in obj and ("event" in obj or obj.get("type") in CALLS)


def parse(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    get = obj.get
    call = get("type", "track")
    if call != "track":
        raise NotUsage(f"Segment {call} call")
    context, ident, event, stamp, props, user = (
        get("context"),
        get("messageId"),
        get("event"),
        get("timestamp"),
        get("properties"),
        get("userId"),
    )
    group = context.get("groupId") if type(context) is dict else None
    if (  # fast path for the well-formed track call; anything else gets a precise error below
        type(ident) is str
        and ident
        and type(event) is str
        and event
        and type(stamp) is str
        and type(props) is dict
        and type(group) is str
        and group
    ):
        subject: Subject = (group, user) if type(user) is str and user and user != group else group
        return (
            event_source_id("segment", ident),
            subject,
            event,
            ctx.window.event_time(stamp, "timestamp"),
            numbers_in_data(props),
        )
    return _parse_slowly(obj, ctx)


def _parse_slowly(obj: dict[str, Any], ctx: ReadContext) -> ParsedEvent:
    context = obj.get("context")
    group = subject_text(context.get("groupId")) if type(context) is dict else None
    candidates = [s for s in (group, subject_text(obj.get("userId"))) if s]
    if not candidates:
        raise EventError("no account field: context.groupId and userId missing", "userId")
    return (
        "event:segment/" + text_of(obj, "messageId"),
        subjects(candidates, "context.groupId, userId"),
        text_of(obj, "event"),
        ctx.window.event_time(obj["timestamp"], "timestamp")
        if obj.get("timestamp") is not None
        else missing("timestamp"),
        data_of(obj.get("properties"), "properties"),
    )


SHAPE = Shape("segment", "Segment track calls", detect, parse)
