"""CSM notes (Markdown with YAML front matter) -> sources with the customer's words marked.

The source text is the whole file as read, front matter included, so a citation's offsets can
be checked against the file itself.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from clerk.domain.ids import note_source_id
from clerk.domain.models import Account, Source, Span
from clerk.ingest.accounts import YamlDoc

NOTE_KINDS = ("call", "meeting", "qbr", "email", "note")
_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
# Straight or curly quotes; a quote may wrap a line but never crosses a blank line.
_QUOTES = (
    re.compile(r'"([^"\n]+(?:\r?\n[^"\n]+)*)"'),
    re.compile(r"“([^”\n]+(?:\r?\n[^”\n]+)*)”"),
)


class NoteError(ValueError):
    """A note the clerk cannot read; names the field and the line of the file."""

    def __init__(self, reason: str, field: str | None = None, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.line = line


def split_front_matter(text: str) -> tuple[str, int]:
    """(front matter YAML, offset where the body starts). Raises NoteError without one."""
    first = _FENCE.match(text)
    if first is None:
        raise NoteError(
            "missing front matter (the file must start with a '---' line)", "front matter", 1
        )
    closing = _FENCE.search(text, first.end())
    if closing is None:
        raise NoteError("front matter is not closed by a '---' line", "front matter", 1)
    body_start = closing.end()
    if text.startswith("\n", body_start):
        body_start += 1
    return text[first.end() : closing.start()], body_start


def _date(value: Any, line: int | None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return _date(dt.datetime.fromisoformat(value.strip()), line)
        except ValueError:
            pass
    raise NoteError(f"date: {value!r} is not a date (YYYY-MM-DD)", "date", line)


def customer_domain(author: str, account: Account) -> bool:
    """True when the author's email address belongs to one of the customer's domains."""
    match = _EMAIL.search(author)
    if not match:
        return False
    domain = match.group(1).lower()
    return any(
        domain == d.lower() or domain.endswith("." + d.lower()) for d in account.customer_domains
    )


def quoted_spans(text: str, start: int) -> list[Span]:
    """Spans of the text inside each pair of quotation marks from ``start`` on, marks excluded."""
    spans = []
    for pattern in _QUOTES:
        for match in pattern.finditer(text, start):
            spans.append(Span(start=match.start(1), end=match.end(1)))
    return sorted(spans, key=lambda s: s.start)


def note_source(text: str, account: Account, file_name: str) -> Source:
    """One note file's text -> its source. Raises :class:`NoteError` on bad front matter."""
    front, body_start = split_front_matter(text)
    # The front matter text starts on the opening fence's line, so its line numbers are the
    # file's line numbers.
    try:
        doc = YamlDoc(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise NoteError(
            f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}", "front matter", line
        ) from None
    meta = doc.data
    if not isinstance(meta, dict):
        raise NoteError("front matter must be a mapping of fields", "front matter", 1)

    def line_of(name: str) -> int:
        found = doc.line_of([name])
        return found if found is not None and name in meta else 1

    for name in ("date", "author", "kind"):
        if meta.get(name) in (None, ""):
            raise NoteError(f"front matter: missing field {name!r}", name, line_of(name))
    date = _date(meta["date"], line_of("date"))
    author = str(meta["author"])
    kind = str(meta["kind"])
    if kind not in NOTE_KINDS:
        raise NoteError(
            f"kind: {kind!r} is not one of {', '.join(NOTE_KINDS)}", "kind", line_of("kind")
        )
    attendees = meta.get("attendees") or []
    if isinstance(attendees, str):
        attendees = [attendees]
    if not isinstance(attendees, list):
        raise NoteError("attendees: expected a list of names", "attendees", line_of("attendees"))

    if kind == "email" and customer_domain(author, account):
        spans = [Span(start=body_start, end=len(text))] if len(text) > body_start else []
    else:
        spans = quoted_spans(text, body_start)
    return Source(
        id=note_source_id(account.id, file_name),
        account_id=account.id,
        kind="note",
        title=file_name,
        text=text,
        date=date,
        author=author,
        public=True,
        customer_spans=spans,
        meta={"kind": kind, "attendees": [str(a) for a in attendees], "body_start": body_start},
    )
