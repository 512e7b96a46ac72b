"""Zendesk tickets -> sources: the ticket itself and one source per comment.

Customer spans follow docs/ARCHITECTURE.md: the requester wrote the subject, the description
and the satisfaction comment; a public comment is the customer's words when its author is the
requester or one of the ticket's customer participants (``customers``, decided by
``clerk.ingest.zendesk.people``). Which export shapes are read lives in ``clerk.ingest.zendesk``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from clerk.domain.ids import comment_source_id, ticket_source_id
from clerk.domain.models import Source, Span
from clerk.ingest.events import EventError, parse_time
from clerk.ingest.zendesk.html_text import html_to_text


class TicketError(ValueError):
    """A ticket that cannot become sources; ``field`` is a path like ``comments[2].id``."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def element_lines(text: str, key: str = "tickets") -> list[int]:
    """1-based line where each element of the export's ``key`` list starts, for pointing at a
    bad one (the first list in the file when the key is absent)."""
    decoder = json.JSONDecoder()
    match = re.search(rf'"{key}"\s*:\s*\[', text)
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


@dataclass(frozen=True)
class TicketContext:
    """What a comment's source needs to know about its ticket."""

    ticket_id: str
    account_id: str
    subject: str
    status: Any
    requester: Any
    created: dt.datetime


def ticket_source(ticket: Any, account_id: str) -> tuple[Source, TicketContext]:
    """The ticket itself as a source (no comments). Raises :class:`TicketError`."""
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
    source = Source(
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
    return source, TicketContext(ticket_id, account_id, subject, status, requester, created)


def ticket_sources(
    ticket: Any, account_id: str, *, customers: Collection[Any] = ()
) -> list[Source]:
    """A ticket and its nested ``comments`` as sources. Raises :class:`TicketError` naming
    the field. ``customers``: author ids as text (besides the requester) whose public comments
    are the customer's words."""
    source, context = ticket_source(ticket, account_id)
    comments = ticket.get("comments") or []
    if not isinstance(comments, list):
        raise TicketError("comments: expected a list", "comments")
    return [source] + [
        comment_source(item, context, customers=customers, at=f"comments[{i}]")
        for i, item in enumerate(comments)
    ]


def comment_text(item: dict[str, Any]) -> str:
    """``plain_body``, else ``body``, else ``html_body`` turned into text."""
    for name in ("plain_body", "body"):
        value = item.get(name)
        if value is not None:
            return str(value)
    html = item.get("html_body")
    return html_to_text(html) if isinstance(html, str) else ""


def comment_source(
    item: Any,
    context: TicketContext,
    *,
    customers: Collection[Any] = (),
    at: str = "comment",
) -> Source:
    """One comment of a ticket as a source. Raises :class:`TicketError` naming ``at``."""
    if not isinstance(item, dict):
        raise TicketError(f"{at}: expected a comment object", at)
    if "id" not in item:
        raise TicketError(f"{at}.id: missing", f"{at}.id")
    comment_id = _id(item["id"], f"{at}.id")
    body = comment_text(item)
    author = item.get("author_id")
    public = item.get("public")
    public = True if public is None else bool(public)
    # Internal notes are never the customer's words, whoever wrote them.
    # Ids compare as text: connectors write them as numbers, some exports as strings.
    customer = (
        public
        and author is not None
        and (
            (context.requester is not None and str(author) == str(context.requester))
            or str(author) in customers
        )
    )
    date = (
        _time(item["created_at"], f"{at}.created_at") if item.get("created_at") else context.created
    )
    return Source(
        id=comment_source_id(context.ticket_id, comment_id),
        account_id=context.account_id,
        kind="ticket_comment",
        title=context.subject,
        text=body,
        date=date,
        author=None if author is None else str(author),
        public=public,
        customer_spans=[Span(start=0, end=len(body))] if customer and body else [],
        meta={
            "ticket_id": context.ticket_id,
            "ticket_subject": context.subject,
            "ticket_status": context.status,
            "author_id": author,
        },
    )
