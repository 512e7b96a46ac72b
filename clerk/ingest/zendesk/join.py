"""Tickets, comments and users from every ticket file of a run, merged into one set.

- A ticket seen in several files or pages is one ticket: the copy with the newest
  ``updated_at`` wins whatever order the files come in (a copy without one loses to a copy
  with one; equal times keep the first read). Later copies count as duplicates.
- Comments join their ticket by ``ticket_id`` (nested ``comments`` by their parent) and are one
  comment per ``(ticket, comment id)``, however many files carry them; the copy with
  ``plain_body`` is preferred to ``body``, and ``body`` to ``html_body``.
- Users are one per id, newest ``updated_at`` first.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clerk.ingest.events import EventError, parse_time
from clerk.ingest.zendesk.readers import Problem, Record, ZendeskFile

_RANK = ("plain_body", "body", "html_body")


@dataclass
class Found:
    """A record and the file (relative to the data folder) it was read from."""

    file: str
    record: Record

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.record.data
        return data


@dataclass
class _Ticket:
    found: Found
    updated: dt.datetime | None


def when(value: Any) -> dt.datetime | None:
    """``updated_at`` as naive UTC, or None when absent or unreadable."""
    if value in (None, ""):
        return None
    try:
        return parse_time(value, "updated_at")
    except EventError:
        return None


def key_of(value: Any) -> str | None:
    """An id as text (``48121`` and ``"48121"`` are the same ticket), or None when not an id."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def _newer(new: dt.datetime | None, old: dt.datetime | None) -> bool:
    return new is not None and (old is None or new > old)


@dataclass
class TicketSet:
    """Everything Zendesk-shaped read in one run, merged."""

    tickets: dict[str, _Ticket] = field(default_factory=dict)
    comments: dict[str, dict[str, tuple[int, Found]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)  # ticket id -> extra copies
    older: int = 0  # copies dropped because a newer copy of the same ticket was read
    _user_times: dict[str, dt.datetime | None] = field(default_factory=dict)

    def add_file(self, file: str, found: ZendeskFile) -> None:
        """Merge one file's records (its own problems are kept for the reject report)."""
        self.problems.extend((file, p) for p in found.problems)
        for record in found.records["user"]:
            self._user(file, record)
        for record in found.records["ticket"]:
            self._ticket(file, record)
        for record in found.records["comment"]:
            self._comment(file, record, record.ticket_id)

    def problem(self, file: str, record: Record, name: str | None, reason: str) -> None:
        at = record.at(name)
        self.problems.append((file, Problem(record.line, at, f"{at}: {reason}" if at else reason)))

    def _ticket(self, file: str, record: Record) -> None:
        data = record.data
        if not isinstance(data, dict):
            self.problem(file, record, None, f"expected a ticket object, got {type(data).__name__}")
            return
        key = key_of(data.get("id"))
        if key is None:
            reason = "missing field 'id'" if "id" not in data else f"not an id: {data['id']!r}"
            self.problem(file, record, "id", reason)
            return
        nested = data.get("comments")
        if nested is not None and not isinstance(nested, list):
            self.problem(file, record, "comments", "expected a list")
        elif nested:
            for j, item in enumerate(nested):
                sub = Record("comment", item, record.line, record.at(f"comments[{j}]") or "", key)
                self._comment(file, sub, key)
        updated = when(data.get("updated_at"))
        current = self.tickets.get(key)
        if current is None:
            self.tickets[key] = _Ticket(Found(file, record), updated)
            return
        self.duplicates[key] += 1
        if _newer(updated, current.updated):
            self.tickets[key] = _Ticket(Found(file, record), updated)
            self.older += 1
        elif _newer(current.updated, updated):
            self.older += 1

    def _comment(self, file: str, record: Record, ticket_id: Any) -> None:
        data = record.data
        if not isinstance(data, dict):
            self.problem(file, record, None, "expected a comment object")
            return
        ticket = key_of(ticket_id)
        if ticket is None:
            self.problem(file, record, "ticket_id", f"not a ticket id: {ticket_id!r}")
            return
        comment = key_of(data.get("id"))
        if comment is None:
            self.problem(file, record, "id", "missing" if "id" not in data else "not an id")
            return
        rank = next((i for i, name in enumerate(_RANK) if data.get(name) is not None), 3)
        pool = self.comments.setdefault(ticket, {})
        current = pool.get(comment)
        if current is None or rank < current[0]:
            pool[comment] = (rank, Found(file, record))

    def _user(self, file: str, record: Record) -> None:
        data = record.data
        key = key_of(data.get("id")) if isinstance(data, dict) else None
        if key is None:
            self.problem(file, record, "id", "a user without an id")
            return
        updated = when(data.get("updated_at"))
        if key not in self.users or not _newer(self._user_times[key], updated):
            self.users[key] = data
            self._user_times[key] = updated
