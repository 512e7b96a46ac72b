"""Which Zendesk shape a ticket file holds, told from its content, and what is in it.

Shapes read (fixtures in tests/ingest/zendesk/ follow the public docs of each):

- Zendesk Support API pages: ticket lists (``{"tickets": [...]}``, offset pages with
  ``next_page``, cursor pages with ``meta``/``links``), a single ticket (``{"ticket": {...}}``),
  the incremental ticket export (``tickets``, ``after_cursor``/``end_time``,
  ``end_of_stream``), incremental ``ticket_events`` (comment child events when exported with
  ``include=comment_events``), comments pages (``{"comments": [...]}``), users and
  organizations, side-loaded (``include=users,organizations``) or in their own pages.
- Airbyte source-zendesk-support: protocol lines
  ``{"type": "RECORD", "record": {"stream": ..., "data": {...}}}`` and Local JSON lines
  ``{"_airbyte_ab_id": ..., "_airbyte_emitted_at": ..., "_airbyte_data": {...}}`` (stream from
  the file name ``_airbyte_raw_<stream>.jsonl``, else from the record's fields).
- Singer tap-zendesk: ``{"type": "RECORD", "stream": ..., "record": {...}}`` with ``SCHEMA``,
  ``STATE`` and ``ACTIVATE_VERSION`` lines around them.

Streams used: ``tickets``, ``ticket_comments``, ``users``, ``organizations``; other streams are
counted and left alone. A comments page carries no ``ticket_id`` (Zendesk's comment objects do
not): its ticket comes from the file name ``ticket-<id>-comments.json``, else it is reported.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from clerk.ingest.tickets import TicketError, element_lines

Kind = Literal["ticket", "comment", "user", "organization"]
KINDS: tuple[Kind, ...] = ("ticket", "comment", "user", "organization")
STREAMS: dict[str, Kind] = {
    "tickets": "ticket",
    "ticket_comments": "comment",
    "users": "user",
    "organizations": "organization",
}
PAGE_KEYS: dict[str, Kind] = {
    "tickets": "ticket",
    "comments": "comment",
    "users": "user",
    "organizations": "organization",
}
SINGLE_KEYS: dict[str, Kind] = {
    "ticket": "ticket",
    "user": "user",
    "organization": "organization",
}
# Protocol messages that carry no record (Singer and Airbyte).
CONTROL_TYPES = frozenset(
    {"SCHEMA", "STATE", "ACTIVATE_VERSION", "LOG", "TRACE", "CONTROL", "SPEC", "CATALOG",
     "CONNECTION_STATUS"}
)  # fmt: skip
COMMENT_FILE = re.compile(r"^tickets?[-_](\d+)[-_]comments\b", re.IGNORECASE)
AIRBYTE_RAW_FILE = re.compile(r"^_airbyte_raw_(\w+?)(?:\.|$)")
_BODY_FIELDS = ("plain_body", "body", "html_body")
_PLURAL = {"ticket": "tickets", "comment": "comments", "user": "users",
           "organization": "organizations"}  # fmt: skip


@dataclass
class Record:
    """One ticket, comment, user or organization as found in a file."""

    kind: Kind
    data: Any
    line: int | None  # 1-based line in the file, when known
    field: str  # where in the file: ``tickets[3]``, ``ticket_events[0].child_events[1]``, ``""``
    ticket_id: Any = None  # comments: the ticket they belong to

    def at(self, name: str | None) -> str | None:
        """The path of a field of this record, for a reject: ``tickets[3].created_at``."""
        if not name:
            return self.field or None
        return f"{self.field}.{name}" if self.field else name


@dataclass
class Problem:
    """A record of the file the clerk cannot read (a reject)."""

    line: int | None
    field: str | None
    reason: str


@dataclass
class ZendeskFile:
    """What one ticket file holds: its shape and its records."""

    name: str
    shape: str = ""
    records: dict[Kind, list[Record]] = field(default_factory=lambda: {k: [] for k in KINDS})
    problems: list[Problem] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    unjoined: int = 0  # comments that name no ticket (rejected)

    def add(self, record: Record) -> None:
        self.records[record.kind].append(record)

    def counts(self) -> dict[Kind, int]:
        """Records per kind as they stand in the file (comments nested in tickets included)."""
        found = {kind: len(records) for kind, records in self.records.items()}
        for ticket in self.records["ticket"]:
            nested = ticket.data.get("comments") if isinstance(ticket.data, dict) else None
            if isinstance(nested, list):
                found["comment"] += len(nested)
        return found

    def summary(self) -> str:
        """``Singer tap-zendesk, 4 tickets, 10 comments, 3 users``."""
        parts = [self.shape]
        for kind, n in self.counts().items():
            if n:
                parts.append(f"{n:,} {kind if n == 1 else _PLURAL[kind]}")
        if self.unjoined:
            parts.append(f"{self.unjoined:,} comment(s) without ticket_id")
        if len(parts) == 1:
            parts.append("no tickets, comments, users or organizations")
        if self.ignored:
            other = ", ".join(f"{name} ({n:,})" for name, n in sorted(self.ignored.items()))
            parts.append(f"left alone: {other}")
        return ", ".join(parts)


def read_ticket_file(text: str, name: str) -> ZendeskFile:
    """The shape and records of a ticket file's text; ``name`` is the file name (without
    ``.gz``), used by the naming rules. Raises :class:`TicketError` (field = line number)
    when the file as a whole is not one of the shapes."""
    found = ZendeskFile(name=name)
    if not text.strip():
        raise TicketError("file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise TicketError(
                f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                str(exc.lineno),
            ) from None
        _read_lines(text, found)
        return found
    if isinstance(data, dict) and _is_line_message(data):
        _read_lines(text, found)  # a JSON Lines file of one line
    elif isinstance(data, dict):
        _read_page(data, text, found)
    elif isinstance(data, list):
        found.shape = "Zendesk ticket list"
        _add_list(found, "ticket", data, "", text, key=None)
    else:
        raise TicketError(f"expected a Zendesk export, got a JSON {type(data).__name__}")
    return found


# --- API pages -------------------------------------------------------------------------


def _read_page(page: dict[str, Any], text: str, found: ZendeskFile) -> None:
    found.shape = _page_shape(page)
    if not found.shape:
        keys = ", ".join(repr(k) for k in list(page)[:8]) or "none"
        raise TicketError(
            'not a Zendesk export: expected "tickets", "ticket_events", "comments", "users" or '
            f'"organizations" (or Airbyte / Singer lines); top-level keys: {keys}'
        )
    for key, kind in SINGLE_KEYS.items():
        if isinstance(page.get(key), dict):
            found.add(Record(kind, page[key], 1, key))
    for key, kind in PAGE_KEYS.items():
        items = page.get(key)
        if isinstance(items, list):
            if kind == "comment":
                _add_comments_page(found, items, text)
            else:
                _add_list(found, kind, items, key, text, key=key)
    if isinstance(page.get("ticket_events"), list):
        _add_ticket_events(found, page["ticket_events"], text)


def _page_shape(page: dict[str, Any]) -> str:
    if isinstance(page.get("ticket_events"), list):
        return "Zendesk incremental ticket events"
    if isinstance(page.get("tickets"), list):
        if "after_cursor" in page or "end_of_stream" in page:
            return "Zendesk incremental ticket export"
        if "meta" in page or "links" in page:
            return "Zendesk tickets page (cursor pagination)"
        if "next_page" in page or "previous_page" in page:
            return "Zendesk tickets page"
        return "Zendesk ticket list"
    if isinstance(page.get("ticket"), dict):
        return "Zendesk ticket"
    if isinstance(page.get("comments"), list):
        return "Zendesk ticket comments page"
    if isinstance(page.get("users"), list) or isinstance(page.get("user"), dict):
        return "Zendesk users page"
    if isinstance(page.get("organizations"), list) or isinstance(page.get("organization"), dict):
        return "Zendesk organizations page"
    return ""


class _Lines:
    """Start line of each element of a list in the file, computed once when first needed."""

    def __init__(self, text: str, key: str | None) -> None:
        self.text = text
        self.key = key
        self.lines: list[int] | None = None

    def __call__(self, i: int) -> int | None:
        if self.lines is None:
            self.lines = element_lines(self.text, self.key or "tickets")
        return self.lines[i] if i < len(self.lines) else None


def _add_list(
    found: ZendeskFile, kind: Kind, items: list[Any], prefix: str, text: str, *, key: str | None
) -> None:
    lines = _Lines(text, key)
    for i, item in enumerate(items):
        at = f"{prefix}[{i}]" if prefix else f"[{i}]"
        found.add(Record(kind, item, lines(i), at))


def _add_comments_page(found: ZendeskFile, items: list[Any], text: str) -> None:
    match = COMMENT_FILE.match(found.name)
    from_name = match.group(1) if match else None
    lines = _Lines(text, "comments")
    for i, item in enumerate(items):
        ticket_id = item.get("ticket_id") if isinstance(item, dict) else None
        if ticket_id is None:
            ticket_id = from_name
        if ticket_id is not None:
            found.add(Record("comment", item, lines(i), f"comments[{i}]", ticket_id))
            continue
        found.unjoined += 1
        found.problems.append(
            Problem(
                lines(i),
                f"comments[{i}].ticket_id",
                f"comments[{i}]: no ticket_id; a comments page (GET /api/v2/tickets/{{id}}/"
                "comments) does not name its ticket, so save it as ticket-<id>-comments.json",
            )
        )


def _add_ticket_events(found: ZendeskFile, events: list[Any], text: str) -> None:
    lines = _Lines(text, "ticket_events")
    textless = 0
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        children = event.get("child_events")
        if not isinstance(children, list):
            continue
        for j, child in enumerate(children):
            if not isinstance(child, dict):
                continue
            if child.get("event_type") not in ("Comment", "VoiceComment") and child.get(
                "type"
            ) not in ("Comment", "VoiceComment"):
                continue
            if not any(child.get(name) is not None for name in _BODY_FIELDS):
                textless += 1
                continue
            comment = dict(child)
            if not comment.get("created_at"):
                comment["created_at"] = event.get("created_at") or event.get("timestamp")
            at = f"ticket_events[{i}].child_events[{j}]"
            found.add(Record("comment", comment, lines(i), at, event.get("ticket_id")))
    if textless:
        found.notes.append(
            f"{textless:,} comment event(s) carry no text; export ticket events with "
            "include=comment_events to bring the comments"
        )


# --- JSON Lines: Airbyte, Singer, plain records ------------------------------------------


def _is_line_message(obj: dict[str, Any]) -> bool:
    kind = obj.get("type")
    return "_airbyte_data" in obj or (
        isinstance(kind, str) and (kind == "RECORD" or kind in CONTROL_TYPES)
    )


def _read_lines(text: str, found: ZendeskFile) -> None:
    shapes: Counter[str] = Counter()
    raw_stream = AIRBYTE_RAW_FILE.match(found.name)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            found.problems.append(
                Problem(number, None, f"malformed JSON: {exc.msg} (column {exc.colno})")
            )
            continue
        if not isinstance(obj, dict):
            found.problems.append(
                Problem(number, None, f"expected a JSON object, got {type(obj).__name__}")
            )
            continue
        kind = obj.get("type")
        if kind == "RECORD" and isinstance(obj.get("record"), dict):
            record = obj["record"]
            if "stream" in obj:
                shapes["Singer tap-zendesk"] += 1
                _add_stream(found, str(obj["stream"]), record, number, "record")
            elif "stream" in record and "data" in record:
                shapes["Airbyte source-zendesk-support"] += 1
                _add_stream(found, str(record["stream"]), record["data"], number, "record.data")
            else:
                found.problems.append(
                    Problem(number, "stream", "RECORD line without a stream name")
                )
            continue
        if isinstance(kind, str) and kind in CONTROL_TYPES:
            if kind in ("SCHEMA", "ACTIVATE_VERSION"):
                shapes["Singer tap-zendesk"] += 1
            elif kind in ("LOG", "TRACE", "CONTROL", "SPEC", "CATALOG", "CONNECTION_STATUS"):
                shapes["Airbyte source-zendesk-support"] += 1
            continue
        if "_airbyte_data" in obj:
            shapes["Airbyte Local JSON"] += 1
            data = obj["_airbyte_data"]
            if raw_stream:
                _add_stream(found, raw_stream.group(1), data, number, "_airbyte_data")
            else:
                _add_guessed(found, data, number, "_airbyte_data")
            continue
        shapes["Zendesk JSON lines"] += 1
        _add_guessed(found, obj, number, "")
    found.shape = shapes.most_common(1)[0][0] if shapes else "Zendesk JSON lines"


def _add_stream(found: ZendeskFile, stream: str, data: Any, line: int, at: str) -> None:
    kind = STREAMS.get(stream)
    if kind is None:
        found.ignored[f"stream {stream}"] += 1
        return
    ticket_id = data.get("ticket_id") if kind == "comment" and isinstance(data, dict) else None
    if kind == "comment" and ticket_id is None:
        found.problems.append(Problem(line, f"{at}.ticket_id", "comment without ticket_id"))
        return
    found.add(Record(kind, data, line, at, ticket_id))


def _add_guessed(found: ZendeskFile, data: Any, line: int, at: str) -> None:
    """A record without a stream name: told apart by the fields each kind always has."""
    if not isinstance(data, dict):
        found.problems.append(Problem(line, at or None, "expected a JSON object"))
        return
    if "ticket_id" in data and any(name in data for name in _BODY_FIELDS):
        found.add(Record("comment", data, line, at, data["ticket_id"]))
    elif "subject" in data or "requester_id" in data:
        found.add(Record("ticket", data, line, at))
    elif "role" in data or ("email" in data and "name" in data):
        found.add(Record("user", data, line, at))
    elif "domain_names" in data:
        found.add(Record("organization", data, line, at))
    else:
        found.ignored["unrecognised records"] += 1
