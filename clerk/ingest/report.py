"""What an ingest run did: counts per kind, rejected records and the reject report file.

Rejected records are streamed to a JSON Lines file under ``CLERK_HOME/rejects/`` as they
happen, so a file with a million bad lines never sits in memory; only the first few are kept
for the screen.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

RecordKind = Literal["events", "tickets", "notes", "accounts"]
KINDS: tuple[RecordKind, ...] = ("events", "tickets", "notes", "accounts")
SHOWN_REJECTS = 10


@dataclass
class KindCounts:
    """Counts for one kind of record. ``duplicates`` are records already stored or repeated."""

    new: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    unrouted: int = 0
    files: int = 0
    skipped_files: int = 0

    def add(self, other: KindCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def summary(self, *, with_updated: bool = False) -> str:
        """``10,440 new, 108 duplicates, 0 rejected, 0 unrouted`` (the words the docs promise)."""
        parts = [f"{self.new:,} new"]
        if with_updated:
            parts.append(f"{self.updated:,} updated")
        parts += [
            f"{self.duplicates:,} duplicates",
            f"{self.rejected:,} rejected",
            f"{self.unrouted:,} unrouted",
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class Reject:
    """One record the clerk could not take (or, with ``status='unrouted'``, could not route)."""

    kind: RecordKind
    file: str
    line: int | None
    reason: str
    field: str | None = None
    status: Literal["rejected", "unrouted"] = "rejected"

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
        }


class RejectLog:
    """Collects rejects: all of them to a JSONL file (opened on first use), a few in memory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self.shown: list[Reject] = []
        self.unrouted_shown: list[Reject] = []
        self.rejected = 0
        self.unrouted = 0
        self._file: IO[str] | None = None

    def add(self, reject: Reject) -> None:
        if reject.status == "rejected":
            self.rejected += 1
            if len(self.shown) < SHOWN_REJECTS:
                self.shown.append(reject)
        else:
            self.unrouted += 1
            if len(self.unrouted_shown) < SHOWN_REJECTS:
                self.unrouted_shown.append(reject)
        self._write(reject)

    def _write(self, reject: Reject) -> None:
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            self.path = self.folder / f"ingest-{stamp}.jsonl"
            self._file = self.path.open("w", encoding="utf-8")
        self._file.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class IngestReport:
    """The result of :func:`clerk.ingest.run_ingest`."""

    data_dir: Path
    counts: dict[RecordKind, KindCounts] = field(
        default_factory=lambda: {kind: KindCounts() for kind in KINDS}
    )
    rejects: list[Reject] = field(default_factory=list)  # the first few, for the screen
    unrouted: list[Reject] = field(default_factory=list)  # the first few unrouted records
    rejected_total: int = 0
    unrouted_total: int = 0
    reject_report: Path | None = None
    late_routed: int = 0  # events stored unrouted earlier that now route to an account
    touched: set[tuple[str, str, str]] = field(default_factory=set)
    changed_accounts: set[str] = field(default_factory=set)
    digests: int | None = None  # None: clerk.ingest.digests not available
    index: Any = None  # clerk.retrieval.IndexStats, or None when the index was not synced
    notes: list[str] = field(default_factory=list)  # things worth saying that are not rejects
    file_shapes: dict[str, str] = field(default_factory=dict)  # file -> what it turned out to hold
    not_understood: list[str] = field(default_factory=list)  # files left alone, and why
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    # Peak resident memory (KiB) of each process that parsed usage files for this ingest
    # (ingest_workers > 1), by process id: the workers and the process that started them.
    worker_peak_kib: dict[int, int] = field(default_factory=dict)
    worker_cpu_seconds: dict[int, float] = field(default_factory=dict)  # the workers' CPU time

    @property
    def nothing_ingestible(self) -> bool:
        """True when the folder gave no record at all: none new, changed, known or waiting."""
        return not any(
            c.new or c.updated or c.duplicates or c.unrouted or c.skipped_files
            for c in self.counts.values()
        )

    @property
    def exit_code(self) -> int:
        """1 when anything was rejected or nothing was ingestible, else 0.

        Unrouted records are reported, not rejected; a file the clerk did not understand is a
        warning, unless it leaves the run with nothing at all to show.
        """
        return 1 if self.rejected_total or self.nothing_ingestible else 0

    def finish(self, log: RejectLog) -> None:
        log.close()
        self.rejects = list(log.shown)
        self.unrouted = list(log.unrouted_shown)
        self.rejected_total = log.rejected
        self.unrouted_total = log.unrouted
        self.reject_report = log.path
