"""What the index stores and how it is filtered: passages with metadata, and search filters."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool


def to_epoch(value: dt.date | dt.datetime) -> int:
    """Seconds since 1970 of a naive-UTC (or aware) datetime, or of a date's midnight UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return calendar.timegm(value.utctimetuple())


def from_epoch(seconds: int) -> dt.datetime:
    """The naive-UTC datetime of an epoch second count."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def chunk_id(source_id: str, n: int) -> str:
    """Stable id of a source's ``n``-th chunk: re-indexing a source overwrites its chunks."""
    return f"{source_id}::{n}"


@dataclass
class Passage:
    """One chunk of one source, with everything the filters and the caller need."""

    source_id: str
    n: int
    account: str
    kind: str
    text: str
    start: int
    end: int
    date: dt.datetime
    customer: bool
    public: bool = True
    extra: dict[str, Scalar] = field(default_factory=dict)
    # Words that situate the chunk (a ticket's subject, "usage digest: approval completed,
    # May 2026"): embedded with the text so a reply saying "confirmed, it works" is still
    # found by what it is about. Not part of ``text``, which stays a slice of the source.
    context: str = ""

    @property
    def id(self) -> str:
        return chunk_id(self.source_id, self.n)

    @property
    def search_text(self) -> str:
        """What the embedder and BM25 read: the context line, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    def metadata(self) -> dict[str, Scalar]:
        """Flat metadata as Chroma stores it (dates as epoch seconds for range filters)."""
        meta: dict[str, Scalar] = {
            "account": self.account,
            "source_id": self.source_id,
            "n": self.n,
            "kind": self.kind,
            "date": to_epoch(self.date),
            "day": self.date.date().isoformat(),
            "customer": self.customer,
            "public": self.public,
            "start": self.start,
            "end": self.end,
            "context": self.context,
        }
        meta.update(self.extra)
        return meta

    @classmethod
    def from_metadata(cls, text: str, meta: dict[str, Any]) -> Passage:
        """Rebuild a passage from what Chroma returns."""
        known = {"account", "source_id", "n", "kind", "date", "day", "customer", "public"}
        known |= {"start", "end", "context"}
        return cls(
            source_id=str(meta["source_id"]),
            n=int(meta["n"]),
            account=str(meta["account"]),
            kind=str(meta["kind"]),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            date=from_epoch(int(meta["date"])),
            customer=bool(meta["customer"]),
            public=bool(meta.get("public", True)),
            extra={k: v for k, v in meta.items() if k not in known},
            context=str(meta.get("context", "")),
        )


@dataclass(frozen=True)
class Filters:
    """Search filters. ``account`` is required: a search never crosses accounts.

    ``since`` is inclusive and ``until`` exclusive, like the clerk's reporting periods.
    """

    account: str
    kinds: tuple[str, ...] | None = None
    customer: bool | None = None
    since: dt.datetime | dt.date | None = None
    until: dt.datetime | dt.date | None = None

    def __post_init__(self) -> None:
        if not self.account:
            raise ValueError("a search needs an account")

    def matches(self, passage: Passage) -> bool:
        """Whether a passage passes every filter (the lexical side filters in memory)."""
        if passage.account != self.account:
            return False
        if self.kinds is not None and passage.kind not in self.kinds:
            return False
        if self.customer is not None and passage.customer != self.customer:
            return False
        seconds = to_epoch(passage.date)
        if self.since is not None and seconds < to_epoch(self.since):
            return False
        return not (self.until is not None and seconds >= to_epoch(self.until))

    def where(self) -> dict[str, Any]:
        """The same filters as a Chroma ``where`` clause."""
        clauses: list[dict[str, Any]] = [{"account": self.account}]
        if self.kinds is not None:
            clauses.append({"kind": {"$in": list(self.kinds)}})
        if self.customer is not None:
            clauses.append({"customer": self.customer})
        if self.since is not None:
            clauses.append({"date": {"$gte": to_epoch(self.since)}})
        if self.until is not None:
            clauses.append({"date": {"$lt": to_epoch(self.until)}})
        # Chroma rejects an $and of a single clause.
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
