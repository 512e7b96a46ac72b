"""``run_ingest``: the whole data folder (FORMATS §1-6) into the SQL store, then usage digests.

Order matters: accounts first (they define routing), then events stored earlier without an
account are routed, then usage files, tickets and notes; the usage digests of the months that
received events follow. The vector index is derived later from SQL (``clerk.retrieval``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.ingest.accounts import AccountFolder, load_account, routing_conflicts, store_account
from clerk.ingest.notes import NoteError, note_source
from clerk.ingest.pending import owe_accounts, settle
from clerk.ingest.report import IngestReport, KindCounts, Reject, RejectLog
from clerk.ingest.sources import upsert_sources
from clerk.ingest.tickets import (
    TicketError,
    element_lines,
    load_export,
    organization_of,
    ticket_sources,
)
from clerk.ingest.usage import EventSink, route_stored_events, subject_routes, unrouted_in_file
from clerk.settings import get_settings
from clerk.store import Store
from clerk.store.tables import AccountRow, IngestedFileRow, utcnow

USAGE_SUFFIXES = (".jsonl", ".ndjson", ".csv")
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
        _settle(store, report)
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
            if path.suffix.lower() not in suffixes:
                self.report.notes.append(
                    f"{self.rel(path)}: not a {kind} file ({', '.join(suffixes)}), left alone"
                )
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

    def load_usage(self) -> None:
        counts = self.report.counts["events"]
        with self.store.engine.connect() as conn:
            sink = EventSink(
                conn,
                subject_routes(conn),
                self.log,
                batch_size=self.batch_size,
                touched=self.report.touched,
                accounts=self.report.changed_accounts,
            )
            conn.commit()
            for path in self.files("usage", USAGE_SUFFIXES, "usage"):
                rel = self.rel(path)
                counts.files += 1
                digest, size = file_digest(path)
                with self.store.session() as session:
                    if self.unchanged(session, path, digest):
                        counts.skipped_files += 1
                        continue
                if size == 0:
                    self.reject("events", rel, None, "file is empty", None)
                    file_counts = KindCounts(rejected=1)
                else:
                    with self.progress(rel, size) as advance:
                        file_counts = sink.ingest_file(path, rel, advance)
                    # Derived from SQL, not from what this run inserted: a rerun after a
                    # killed run reports the file's unrouted events like one clean run.
                    file_counts.unrouted = unrouted_in_file(conn, rel)
                    counts.add(file_counts)
                with self.store.session() as session:
                    self.record(session, path, digest, "events", file_counts)
        if sink.unrouted_subjects:
            top = ", ".join(f"{s} ({n:,})" for s, n in sink.unrouted_subjects.most_common(5))
            self.report.notes.append(f"subjects that route to no account: {top}")

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
        with self.store.engine.connect() as conn:
            orgs: dict[int, str] = {
                org: account
                for account, org in conn.execute(
                    select(AccountRow.id, AccountRow.zendesk_organization_id)
                )
                if org is not None
            }
        for path in self.files("tickets", (".json",), "Zendesk export"):
            rel = self.rel(path)
            counts.files += 1
            digest, _ = file_digest(path)
            with self.store.session() as session:
                if self.unchanged(session, path, digest):
                    counts.skipped_files += 1
                    continue
            file_counts = KindCounts()
            with self.store.session() as session:
                self._ticket_file(session, path, rel, orgs, file_counts)
                counts.add(file_counts)
                self.record(session, path, digest, "tickets", file_counts)

    def _ticket_file(
        self, session: Session, path: Path, rel: str, orgs: dict[int, str], counts: KindCounts
    ) -> None:
        try:
            text = path.read_bytes().decode("utf-8")
            tickets = load_export(text)
        except UnicodeDecodeError as exc:
            self.log.add(Reject("tickets", rel, None, f"not valid UTF-8 (byte {exc.start + 1})"))
            counts.rejected += 1
            return
        except TicketError as exc:
            line = int(exc.field) if exc.field and exc.field.isdigit() else None
            self.log.add(Reject("tickets", rel, line, exc.reason))
            counts.rejected += 1
            return
        lines: list[int] | None = None
        for i, ticket in enumerate(tickets):
            org = organization_of(ticket)
            account = orgs.get(org) if org is not None else None
            try:
                if account is None:
                    ticket_sources(ticket, "")  # a broken ticket is rejected, not "unrouted"
                    raise _Unrouted
                sources = ticket_sources(ticket, account)
            except (TicketError, _Unrouted) as exc:
                if lines is None:
                    lines = element_lines(text)
                line = lines[i] if i < len(lines) else None
                if isinstance(exc, TicketError):
                    field = f"tickets[{i}].{exc.field}" if exc.field else f"tickets[{i}]"
                    self.log.add(Reject("tickets", rel, line, f"{field}: {exc.reason}", field))
                    counts.rejected += 1
                else:
                    reason = (
                        f"tickets[{i}]: organization_id {ticket.get('organization_id')!r} routes "
                        "to no account (set zendesk_organization_id in account.yaml)"
                    )
                    self.log.add(
                        Reject("tickets", rel, line, reason, "organization_id", "unrouted")
                    )
                    counts.unrouted += 1
                continue
            status = upsert_sources(session, sources)
            ticket_status = status[sources[0].id]
            if ticket_status == "unchanged" and any(s != "unchanged" for s in status.values()):
                ticket_status = "updated"
            if ticket_status == "unchanged":
                counts.duplicates += 1
            else:
                setattr(counts, ticket_status, getattr(counts, ticket_status) + 1)
                self.report.changed_accounts.add(account)
                owe_accounts(session, [account])

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
                    text = path.read_bytes().decode("utf-8")
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


class _Unrouted(Exception):
    pass


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in chunks."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _settle(store: Store, report: IngestReport) -> None:
    """Usage digests for the months that received events and the evidence versions of the
    accounts that changed: this run's debts and any a killed run left (``pending``)."""
    timer = time.perf_counter()
    with store.session() as session:
        accounts, touched, report.digests = settle(session)
    report.changed_accounts |= accounts
    report.touched |= touched
    report.seconds["digests"] = time.perf_counter() - timer
