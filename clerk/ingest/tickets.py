"""Zendesk ticket exports -> sources: the ticket itself and one source per comment.

Shapes and customer spans follow docs/ARCHITECTURE.md: the requester wrote the subject, the
description and the satisfaction comment, and every comment whose author is the requester.
"""

from __future__ import annotations

import json
import re
from typing import Any

from clerk.domain.ids import comment_source_id, ticket_source_id
from clerk.domain.models import Source, Span
from clerk.ingest.events import EventError, parse_time


class TicketError(ValueError):
    """A ticket that cannot become sources; ``field`` is a path like ``comments[2].id``."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def load_export(text: str) -> list[Any]:
    """The ticket list of a Zendesk export (``{"tickets": [...]}`` or a bare list).

    Raises :class:`TicketError` with the line in ``field`` when the file is not such a JSON.
    """
    if not text.strip():
        raise TicketError("file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TicketError(
            f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", str(exc.lineno)
        ) from None
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        return list(data["tickets"])
    if isinstance(data, list):
        return data
    raise TicketError('expected {"tickets": [...]} or a list of tickets', "tickets")


def element_lines(text: str) -> list[int]:
    """1-based line where each ticket of the export starts, for pointing at a bad one."""
    decoder = json.JSONDecoder()
    match = re.search(r'"tickets"\s*:\s*\[', text)
    index = match.end() if match else text.index("[") + 1
    lines = []
    length = len(text)
    while index < length:
        while index < length and text[index] in " \t\r\n,":
            index += 1
        if index >= length or text[index] == "]":
            break
        lines.append(text.count("\n", 0, index) + 1)
        try:
            _, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            break
    return lines


def organization_of(ticket: Any) -> int | None:
    """The ticket's organization id as an int, when it has one."""
    if not isinstance(ticket, dict):
        return None
    value = ticket.get("organization_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _time(value: Any, field: str) -> Any:
    try:
        return parse_time(value, field)
    except EventError as exc:
        raise TicketError(exc.reason, field) from None


def _id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise TicketError(f"{field}: expected an id, got {value!r}", field)
    return str(value)


def ticket_sources(ticket: Any, account_id: str) -> list[Source]:
    """A ticket and its comments as sources. Raises :class:`TicketError` naming the field."""
    if not isinstance(ticket, dict):
        raise TicketError(f"expected a ticket object, got {type(ticket).__name__}")
    if "id" not in ticket:
        raise TicketError("missing field 'id'", "id")
    ticket_id = _id(ticket["id"], "id")
    if "created_at" not in ticket:
        raise TicketError("missing field 'created_at'", "created_at")
    created = _time(ticket["created_at"], "created_at")
    subject = str(ticket.get("subject") or "")
    description = str(ticket.get("description") or "")
    requester = ticket.get("requester_id")

    text = subject + "\n\n" + description
    spans = [Span(start=0, end=len(subject)), Span(start=len(subject) + 2, end=len(text))]
    rating = ticket.get("satisfaction_rating")
    score = rating.get("score") if isinstance(rating, dict) else None
    comment = rating.get("comment") if isinstance(rating, dict) else None
    if isinstance(comment, str) and comment.strip():
        prefix = f"\n\nSatisfaction ({score}): "
        start = len(text) + len(prefix)
        text += prefix + comment
        spans.append(Span(start=start, end=len(text)))
    spans = [s for s in spans if s.end > s.start]
    status = ticket.get("status")
    sources = [
        Source(
            id=ticket_source_id(ticket_id),
            account_id=account_id,
            kind="ticket",
            title=subject,
            text=text,
            date=created,
            author=None if requester is None else str(requester),
            public=True,
            customer_spans=spans,
            meta={
                "status": status,
                "priority": ticket.get("priority"),
                "type": ticket.get("type"),
                "tags": ticket.get("tags") or [],
                "organization_id": ticket.get("organization_id"),
                "requester_id": requester,
                "satisfaction_score": score,
                "updated_at": ticket.get("updated_at"),
            },
        )
    ]
    comments = ticket.get("comments") or []
    if not isinstance(comments, list):
        raise TicketError("comments: expected a list", "comments")
    for i, item in enumerate(comments):
        sources.append(
            _comment_source(item, i, ticket_id, account_id, subject, status, requester, created)
        )
    return sources


def _comment_source(
    item: Any,
    i: int,
    ticket_id: str,
    account_id: str,
    subject: str,
    status: Any,
    requester: Any,
    ticket_created: Any,
) -> Source:
    at = f"comments[{i}]"
    if not isinstance(item, dict):
        raise TicketError(f"{at}: expected a comment object", at)
    if "id" not in item:
        raise TicketError(f"{at}.id: missing", f"{at}.id")
    comment_id = _id(item["id"], f"{at}.id")
    body = item.get("plain_body")
    if body is None:
        body = item.get("body")
    body = "" if body is None else str(body)
    author = item.get("author_id")
    customer = requester is not None and author == requester
    date = (
        _time(item["created_at"], f"{at}.created_at") if item.get("created_at") else ticket_created
    )
    return Source(
        id=comment_source_id(ticket_id, comment_id),
        account_id=account_id,
        kind="ticket_comment",
        title=subject,
        text=body,
        date=date,
        author=None if author is None else str(author),
        public=bool(item.get("public", True)),
        customer_spans=[Span(start=0, end=len(body))] if customer and body else [],
        meta={
            "ticket_id": ticket_id,
            "ticket_subject": subject,
            "ticket_status": status,
            "author_id": author,
        },
    )
