"""``run_ingest``: the whole data folder (FORMATS §1-6) into the SQL store, then usage digests.

Order matters: accounts first (they define routing), then events stored earlier without an
account are routed, then usage files, tickets and notes; the usage digests of the months that
received events follow. The vector index is derived later from SQL (``clerk.retrieval``).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from clerk.ingest.accounts import AccountFolder, load_account, routing_conflicts, store_account
from clerk.ingest.digest_stats import UsageStats
from clerk.ingest.events import TimeWindow
from clerk.ingest.notes import NoteError, note_source
from clerk.ingest.pending import owe_accounts, settle
from clerk.ingest.readers import ReadContext, UsageFile
from clerk.ingest.readers.mapping import FILE_NAMES as MAPPING_FILE_NAMES
from clerk.ingest.readers.mapping import MappingError, Rule, load_rules, mapping_file, rule_for
from clerk.ingest.report import IngestReport, KindCounts, Reject, RejectLog
from clerk.ingest.sources import upsert_sources
from clerk.ingest.staging import (
    Piece,
    Setup,
    Staged,
    Staging,
    StagingError,
    cut,
    staged_pieces,
)
from clerk.ingest.usage import (
    EventSink,
    bulk_cache,
    route_stored_events,
    subject_routes,
    unrouted_in_file,
)
from clerk.ingest.zendesk.files import TICKET_SUFFIXES
from clerk.ingest.zendesk.load import load_ticket_files
from clerk.settings import Settings, get_settings
from clerk.store import Store
from clerk.store.tables import IngestedFileRow, utcnow

# Files smaller than this finish before a progress bar would be worth drawing.
PROGRESS_MIN_BYTES = 1 << 20


class IngestError(Exception):
    """The data folder itself cannot be read (missing, not a folder, nothing in it)."""


def run_ingest(
    data_dir: Path | str,
    store: Store | None = None,
    *,
    console: Console | None = None,
) -> IngestReport:
    """Read the data folder into the store; return what was new, duplicate, rejected, unrouted.

    The vector index is derived from SQL and is not touched here: callers that want it current
    follow with ``clerk.retrieval.index_ingested`` (``clerk ingest`` does, unless ``--no-index``).
    """
    data = Path(data_dir)
    if not data.exists():
        raise IngestError(f"data folder {data} does not exist")
    if not data.is_dir():
        raise IngestError(f"{data} is not a folder")
    parts = [data / name for name in ("accounts", "usage", "tickets")]
    if not any(p.is_dir() for p in parts):
        raise IngestError(
            f"{data} has none of accounts/, usage/, tickets/ (see docs: the data folder)"
        )
    store = store or Store()
    settings = get_settings()
    report = IngestReport(data_dir=data)
    log = RejectLog(settings.home / "rejects")
    try:
        run = _Run(data, store, report, log, console, settings.ingest_batch_size)
        run.all()
        _settle(store, report, run.stats)
    finally:
        report.finish(log)
    return report


class _Run:
    def __init__(
        self,
        data: Path,
        store: Store,
        report: IngestReport,
        log: RejectLog,
        console: Console | None,
        batch_size: int,
    ) -> None:
        self.data = data
        self.store = store
        self.report = report
        self.log = log
        self.console = console
        self.batch_size = batch_size
        self.accounts: dict[str, AccountFolder] = {}
        self.accounts_changed = False  # routing or customer domains may differ from last run
        self.stats: UsageStats | None = None  # digest statistics of the inserted events

    def rel(self, path: Path) -> str:
        return path.relative_to(self.data).as_posix()

    def outside(self, path: Path, kind: Any, *inside: Path) -> bool:
        """Reject (and say so) a symlink that leads out of the data folder: it is never read.

        A link inside the folder is fine; one to an outside file once became a draft.
        """
        root = self.data.resolve()
        for candidate in (path, *inside):
            if not (candidate.is_symlink() or candidate == path):
                continue
            if candidate.exists() and not candidate.resolve().is_relative_to(root):
                reason = "is a symbolic link to a file outside the data folder; not read"
                self.log.add(Reject(kind, self.rel(candidate), None, reason, None))
                if kind != "accounts":
                    self.report.counts[kind].rejected += 1
                return True
        return False

    def reject(
        self, kind: Any, file: str, line: int | None, reason: str, field: str | None
    ) -> None:
        self.log.add(Reject(kind, file, line, reason, field))
        self.report.counts[kind].rejected += 1

    def all(self) -> None:
        timer = time.perf_counter()
        self.load_accounts()
        self.report.seconds["accounts"] = time.perf_counter() - timer
        timer = time.perf_counter()
        self.load_usage()
        self.report.seconds["events"] = time.perf_counter() - timer
        timer = time.perf_counter()
        self.load_tickets()
        self.load_notes()
        self.report.seconds["sources"] = time.perf_counter() - timer

    # --- accounts ---------------------------------------------------------------------

    def load_accounts(self) -> None:
        folder = self.data / "accounts"
        counts = self.report.counts["accounts"]
        if not folder.is_dir():
            return
        for path in sorted(p for p in folder.iterdir() if p.is_dir()):
            rel = self.rel(path)
            outside = self.outside(
                path, "accounts", path / "account.yaml", path / "value_case.yaml"
            )
            if outside:
                counts.rejected += 1
                continue
            loaded, rejects = load_account(path, rel)
            with self.store.session() as session:
                if loaded is not None:
                    rejects = routing_conflicts(session, loaded.account, f"{rel}/account.yaml")
                if rejects:
                    for reject in rejects:
                        self.log.add(reject)
                    counts.rejected += 1
                    continue
                assert loaded is not None
                status = store_account(session, loaded)
                if status != "unchanged":
                    owe_accounts(session, [loaded.account.id])
            self.accounts[loaded.account.id] = loaded
            if status == "unchanged":
                counts.duplicates += 1
            else:
                setattr(counts, status, getattr(counts, status) + 1)
                self.report.changed_accounts.add(loaded.account.id)
                self.accounts_changed = True
        with self.store.engine.connect() as conn:
            self.report.late_routed = route_stored_events(
                conn, self.report.touched, self.report.changed_accounts
            )
        if self.report.late_routed:
            self.report.notes.append(
                f"{self.report.late_routed:,} events stored earlier without an account "
                "now route to one"
            )

    # --- files ------------------------------------------------------------------------

    def files(self, folder: str, suffixes: tuple[str, ...], kind: str) -> Iterator[Path]:
        root = self.data / folder
        if not root.is_dir():
            return
        for path in sorted(p for p in root.iterdir() if p.is_file()):
            if path.name.startswith("."):
                continue
            if self.outside(path, "events" if folder == "usage" else folder):
                continue
            if suffixes and path.suffix.lower() not in suffixes:
                why = f"{self.rel(path)}: not a {kind} file ({', '.join(suffixes)})"
                self.report.not_understood.append(why)
                continue
            yield path

    def unchanged(self, session: Session, path: Path, digest: str) -> bool:
        """True when this exact file was read before with nothing left to report."""
        row = session.get(IngestedFileRow, str(path.resolve()))
        if row is None or row.sha256 != digest:
            return False
        counts = row.counts or {}
        # Files with rejects or unroutable tickets are read again so they are reported again
        # (and the tickets routed, once an account claims them).
        return not counts.get("rejected") and not (row.kind == "tickets" and counts.get("unrouted"))

    def record(
        self, session: Session, path: Path, digest: str, kind: str, counts: KindCounts
    ) -> None:
        key = str(path.resolve())
        row = session.get(IngestedFileRow, key) or IngestedFileRow(path=key)
        row.sha256 = digest
        row.size = path.stat().st_size
        row.kind = kind
        row.counts = counts.as_dict()
        row.ingested_at = utcnow()
        session.merge(row)

    def usage_rules(self) -> list[Rule]:
        """The rules of ``usage/mapping.yaml``; a broken mapping file is rejected as a whole."""
        path = mapping_file(self.data / "usage")
        if path is None:
            return []
        try:
            return load_rules(path)
        except MappingError as exc:
            self.reject("events", self.rel(path), None, exc.reason, exc.field)
            return []

    def load_usage(self) -> None:
        settings = get_settings()
        rules = self.usage_rules()
        plans = list(self.usage_plans(rules, settings))
        with self.store.engine.connect() as conn, bulk_cache(conn):
            sink = EventSink(
                conn,
                subject_routes(conn),
                self.log,
                batch_size=self.batch_size,
                touched=self.report.touched,
                accounts=self.report.changed_accounts,
            )
            self.stats = sink.stats
            conn.commit()
            with self.staging(conn, sink, plans, settings) as staged:
                for plan in plans:
                    self.load_usage_file(conn, sink, plan, staged)
                if staged is not None and sink.stats is not None:
                    staged.staging.figure(sink.stats)
        if sink.unrouted_subjects:
            top = ", ".join(f"{s} ({n:,})" for s, n in sink.unrouted_subjects.most_common(5))
            self.report.notes.append(f"subjects that route to no account: {top}")

    def usage_plans(self, rules: list[Rule], settings: Settings) -> Iterator[_Plan]:
        for path in self.files("usage", (), "usage"):
            if path.name in MAPPING_FILE_NAMES:
                continue
            rule = rule_for(rules, path.name)
            digest, size = file_digest(path)
            if rule is not None:  # a changed rule reads its files again
                digest = hashlib.sha256(f"{digest}:{rule!r}".encode()).hexdigest()
            ctx = ReadContext(TimeWindow(), tuple(settings.mixpanel_group_keys))
            yield _Plan(path, self.rel(path), rule, digest, size, ctx)

    @contextmanager
    def staging(
        self, conn: Connection, sink: EventSink, plans: list[_Plan], settings: Settings
    ) -> Iterator[_Pieces | None]:
        """The usage files parsed in worker processes, when the input is large enough, the
        store is SQLite and more than one worker is set (else None: read in this process).
        PostgreSQL keeps the sequential path (the staging copy is SQLite's ATTACH; whether
        parallel parsing pays there was not measured)."""
        with self.store.session() as session:
            todo = [p for p in plans if p.size and not self.unchanged(session, p.path, p.digest)]
        workers = settings.ingest_workers
        total = sum(p.size for p in todo)
        if workers < 2 or conn.dialect.name != "sqlite" or total < settings.ingest_parallel_bytes:
            yield None
            return
        pieces: list[Piece] = []
        for plan in todo:
            for start, end, line in cut(plan.path, plan.size, settings.ingest_piece_bytes):
                pieces.append(
                    Piece(
                        len(pieces), str(plan.path), plan.rel, start, end, line, plan.rule, plan.ctx
                    )
                )
        routes, stats = sink.routes, sink.stats is not None

        def setup(folder: str) -> Setup:
            return Setup(routes, stats, folder, os.getpid())

        try:
            with staged_pieces(pieces, setup, workers, settings.home) as results:
                taken = _Pieces(pieces, results)
                yield taken
                self.report.worker_peak_kib = taken.peaks
                self.report.worker_cpu_seconds = taken.cpu
        except StagingError as exc:
            raise IngestError(str(exc)) from exc

    def load_usage_file(
        self, conn: Connection, sink: EventSink, plan: _Plan, staged: _Pieces | None
    ) -> None:
        counts = self.report.counts["events"]
        path, rel, digest, size = plan.path, plan.rel, plan.digest, plan.size
        counts.files += 1
        with self.store.session() as session:
            if self.unchanged(session, path, digest):
                counts.skipped_files += 1
                if staged is not None:
                    staged.skip(rel)
                return
        if size == 0:
            self.reject("events", rel, None, "file is empty", None)
            file_counts = KindCounts(rejected=1)
        else:
            with self.progress(rel, size) as advance:
                if staged is not None and staged.has(rel):
                    file_counts, reader = staged.copy(sink, plan, advance)
                else:
                    file_counts, reader = sink.ingest_file(
                        path, rel, advance, ctx=plan.ctx, rule=plan.rule
                    )
            # Derived from SQL, not from what this run inserted: a rerun after a
            # killed run reports the file's unrouted events like one clean run.
            file_counts.unrouted = unrouted_in_file(conn, rel)
            counts.add(file_counts)
            if not reader.understood:
                self.report.not_understood += reader.not_understood
                return  # not recorded: it is reported again on the next run
            self.report.file_shapes[rel] = reader.describe()
            for why in reader.not_understood:  # e.g. a README inside an export zip
                self.report.notes.append(f"{why} (left alone)")
        with self.store.session() as session:
            self.record(session, path, digest, "events", file_counts)

    @contextmanager
    def progress(self, rel: str, size: int) -> Iterator[Callable[[int], None] | None]:
        if self.console is None or size < PROGRESS_MIN_BYTES:
            yield None
            return
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        with bar:
            task = bar.add_task(rel, total=size)
            yield lambda done: bar.update(task, completed=done)

    def load_tickets(self) -> None:
        counts = self.report.counts["tickets"]
        paths = list(self.files("tickets", TICKET_SUFFIXES, "Zendesk export"))
        if not paths:
            return
        digests = {path: file_digest(path)[0] for path in paths}
        counts.files += len(paths)
        with self.store.session() as session:
            unchanged = all(self.unchanged(session, p, digest) for p, digest in digests.items())
        # A changed account (organization, customer domains) may route tickets or mark
        # customers differently, so its tickets are read again too.
        if unchanged and not self.accounts_changed:
            counts.skipped_files += len(paths)
            return
        # Tickets, their comments and the users who wrote them may sit in different files,
        # so a change in any ticket file reads them all (unchanged tickets count as duplicates).
        per_file = load_ticket_files(
            self.store, [(path, self.rel(path)) for path in paths], self.log, self.report
        )
        with self.store.session() as session:
            for path, digest in digests.items():
                file_counts = per_file.get(self.rel(path), KindCounts())
                counts.add(file_counts)
                self.record(session, path, digest, "tickets", file_counts)

    def load_notes(self) -> None:
        counts = self.report.counts["notes"]
        for account_id, loaded in self.accounts.items():
            folder = loaded.folder / "notes"
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.md")):
                rel = self.rel(path)
                if self.outside(path, "notes"):
                    continue
                try:
                    # Windows editors start UTF-8 files with a byte-order mark; it is not text.
                    text = path.read_bytes().decode("utf-8-sig")
                    source = note_source(text, loaded.account, path.name)
                except UnicodeDecodeError as exc:
                    self.reject("notes", rel, None, f"not valid UTF-8 (byte {exc.start + 1})", None)
                    continue
                except NoteError as exc:
                    self.reject("notes", rel, exc.line, exc.reason, exc.field)
                    continue
                with self.store.session() as session:
                    status = upsert_sources(session, [source])[source.id]
                    if status != "unchanged":
                        owe_accounts(session, [account_id])
                if status == "unchanged":
                    counts.duplicates += 1
                else:
                    setattr(counts, status, getattr(counts, status) + 1)
                    self.report.changed_accounts.add(account_id)


@dataclass(frozen=True)
class _Plan:
    """A usage file to read."""

    path: Path
    rel: str
    rule: Rule | None
    digest: str
    size: int
    ctx: ReadContext


class _Pieces:
    """The staged pieces of the usage files, taken file by file in order."""

    def __init__(self, pieces: list[Piece], staging: Staging) -> None:
        self.staging = staging
        self.results = iter(staging)
        self.per_file = Counter(piece.rel for piece in pieces)
        self.peaks: dict[int, int] = {}  # the readers' peak memory (IngestReport)
        self.cpu: dict[int, float] = {}  # and their CPU time

    def has(self, rel: str) -> bool:
        return rel in self.per_file

    def _take(self, rel: str) -> Iterator[tuple[Piece, Staged]]:
        for _ in range(self.per_file.pop(rel, 0)):
            piece, staged = next(self.results)
            assert piece.rel == rel
            yield piece, staged

    def skip(self, rel: str) -> None:
        """A file found unchanged after all (two names for one file): its pieces go unread."""
        for _ in self._take(rel):
            pass

    def copy(
        self, sink: EventSink, plan: _Plan, advance: Callable[[int], None] | None
    ) -> tuple[KindCounts, UsageFile]:
        """Copy a file's pieces in order: the counts for this file alone and what it held."""
        before = sink.counts.as_dict()
        reader = UsageFile(plan.rel, plan.ctx, plan.rule)
        last: int | None = None  # the shape of the last record so far
        for piece, staged in self._take(plan.rel):
            if not piece.head and reader.not_understood:
                continue  # the file's head told it is of no known shape: nothing else is read
            if (
                not piece.head
                and staged.ambiguous
                and last is not None
                and last != staged.start_shape
            ):
                # Its first record fits two shapes and the record before took the other one:
                # read the piece again here, knowing that shape, as one pass over the file would.
                staged = self.staging.again(replace(piece, last=last))
            sink.copy_staged(staged)
            for pid, kib in staged.peaks.items():
                self.peaks[pid] = max(kib, self.peaks.get(pid, 0))
            pid, cpu = staged.cpu
            if pid:
                self.cpu[pid] = max(cpu, self.cpu.get(pid, 0.0))
            reader.shapes.update(staged.shapes)
            reader.left_out.update(staged.left_out)
            reader.not_understood += staged.not_understood
            if piece.head or staged.reached:
                last = staged.last
            if advance is not None:
                advance(piece.end or plan.size)
        after = sink.counts.as_dict()
        return KindCounts(**{k: after[k] - before[k] for k in after}), reader


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in chunks."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _settle(store: Store, report: IngestReport, known: UsageStats | None = None) -> None:
    """Usage digests for the months that received events and the evidence versions of the
    accounts that changed: this run's debts and any a killed run left (``pending``)."""
    timer = time.perf_counter()
    with store.session() as session:
        accounts, touched, report.digests = settle(session, known)
    report.changed_accounts |= accounts
    report.touched |= touched
    report.seconds["digests"] = time.perf_counter() - timer
