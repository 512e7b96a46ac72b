"""The ticket files of a data folder into sources: read, merge, route, and store.

Freshness: a ticket copy older (``updated_at``) than the one already stored never replaces it;
its comments are still added, under the stored ticket. Comments whose ticket is in no file of
the run join the stored ticket, else they are reported as unrouted (and read again next run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.domain.ids import ticket_source_id
from clerk.domain.models import Account, Source
from clerk.ingest.pending import owe_accounts
from clerk.ingest.report import IngestReport, KindCounts, Reject, RejectLog
from clerk.ingest.sources import upsert_sources
from clerk.ingest.tickets import TicketContext, TicketError, comment_source, ticket_source
from clerk.ingest.zendesk.files import FileError, inner_name, read_text
from clerk.ingest.zendesk.join import Found, TicketSet, when
from clerk.ingest.zendesk.people import Accounts, customer_authors, route
from clerk.ingest.zendesk.readers import read_ticket_file
from clerk.store import Store
from clerk.store.tables import AccountRow, SourceRow

_CHUNK = 500
_BATCH = 900  # sources upserted per round trip (under SQLite's oldest variable limit)


class TicketLoader:
    """One run's ticket files: :meth:`run` returns the counts per file (relative name)."""

    def __init__(self, store: Store, log: RejectLog, report: IngestReport) -> None:
        self.store = store
        self.log = log
        self.report = report
        self.counts: dict[str, KindCounts] = defaultdict(KindCounts)
        self.set = TicketSet()
        self.kept_stored = 0
        self.pending: list[tuple[list[Source], str | None, KindCounts, str]] = []
        self.pending_sources = 0

    def run(self, files: Iterable[tuple[Path, str]]) -> dict[str, KindCounts]:
        for path, rel in files:
            self.counts[rel] = KindCounts()
            self.read(path, rel)
        for file, problem in self.set.problems:
            self.reject(file, problem.line, problem.reason, problem.field)
        with self.store.session() as session:
            self.store_all(session)
        if self.set.older:
            copies = "copy" if self.set.older == 1 else "copies"
            self.report.notes.append(
                f"tickets: {self.set.older:,} older {copies} of tickets set aside for a newer "
                "copy (updated_at)"
            )
        if self.kept_stored:
            self.report.notes.append(
                f"tickets: {self.kept_stored:,} ticket(s) already stored in a newer version "
                "(updated_at) were left as they are"
            )
        return dict(self.counts)

    def reject(
        self, file: str, line: int | None, reason: str, field: str | None, *, unrouted: bool = False
    ) -> None:
        status: Literal["rejected", "unrouted"] = "unrouted" if unrouted else "rejected"
        self.log.add(Reject("tickets", file, line, reason, field, status))
        if unrouted:
            self.counts[file].unrouted += 1
        else:
            self.counts[file].rejected += 1

    def read(self, path: Path, rel: str) -> None:
        try:
            found = read_ticket_file(read_text(path), inner_name(path))
        except FileError as exc:
            self.reject(rel, None, str(exc), None)
            return
        except TicketError as exc:
            line = int(exc.field) if exc.field and exc.field.isdigit() else None
            self.reject(rel, line, exc.reason, None)
            return
        self.report.notes.append(f"{rel}: {found.summary()}")
        self.report.notes.extend(f"{rel}: {note}" for note in found.notes)
        self.set.add_file(rel, found)

    # --- storing ------------------------------------------------------------------------

    def store_all(self, session: Session) -> None:
        accounts = {
            row.id: Account.model_validate(row.data) for row in session.scalars(select(AccountRow))
        }
        routes = Accounts.of(accounts.values())
        stored = _stored_tickets(session, set(self.set.tickets) | set(self.set.comments))
        for key in sorted(self.set.tickets, key=_order):
            self.store_ticket(session, key, routes, stored.get(key), accounts)
        for key in sorted(self.set.comments, key=_order):
            self.store_orphans(session, key, stored.get(key), accounts)
        self.flush(session)

    def store_ticket(
        self,
        session: Session,
        key: str,
        routes: Accounts,
        stored: SourceRow | None,
        accounts: dict[str, Account],
    ) -> None:
        copy = self.set.tickets[key]
        found, data = copy.found, copy.found.data
        account, reason = route(data, routes, self.set.users)
        try:
            source, context = ticket_source(data, account.id if account else "")
        except TicketError as exc:
            at = found.record.at(exc.field)
            self.reject(
                found.file, found.record.line, f"{at}: {exc.reason}" if at else exc.reason, at
            )
            self.set.comments.pop(key, None)  # they belong to a ticket that was not taken
            return
        if account is None:
            field = "organization_id" if data.get("organization_id") is not None else "requester_id"
            at = found.record.at(None)
            text = f"{at}: {reason}" if at else f"ticket {key}: {reason}"
            self.reject(found.file, found.record.line, text, field, unrouted=True)
            self.set.comments.pop(key, None)
            return
        sources: list[Source] = [source]
        ticket: dict[str, Any] = data
        if stored is not None and _newer_than(stored, copy.updated):
            # The stored copy is newer: it stays as it is, and the comments join it.
            sources, context, ticket = [], _context(stored), dict(stored.meta or {})
            account = accounts.get(stored.account_id, account)
            self.kept_stored += 1
        sources += self.comment_sources(key, context, ticket, account)
        counts = self.counts[found.file]
        counts.duplicates += self.set.duplicates[key]
        self.count(session, sources, ticket_source_id(key), counts, account.id)

    def comment_sources(
        self, key: str, context: TicketContext, ticket: dict[str, Any], account: Account
    ) -> list[Source]:
        pool = self.set.comments.pop(key, {})
        authors = {str(f.data.get("author_id")) for _, f in pool.values()}
        customers = customer_authors(ticket, account, self.set.users, authors)
        sources = []
        for _, found in pool.values():
            try:
                sources.append(
                    comment_source(
                        found.data, context, customers=customers, at=found.record.field or "comment"
                    )
                )
            except TicketError as exc:
                self.reject(found.file, found.record.line, exc.reason, exc.field)
        return sources

    def store_orphans(
        self, session: Session, key: str, stored: SourceRow | None, accounts: dict[str, Account]
    ) -> None:
        """Comments whose ticket is in no file of this run: joined to the stored ticket."""
        pool = self.set.comments.get(key)
        if not pool:
            return
        account = accounts.get(stored.account_id) if stored is not None else None
        if stored is None or account is None:
            for _, found in self.set.comments.pop(key).values():
                self._orphan(found, key)
            return
        first = next(iter(pool.values()))[1]
        sources = self.comment_sources(key, _context(stored), dict(stored.meta or {}), account)
        if sources:
            self.count(session, sources, None, self.counts[first.file], account.id)

    def _orphan(self, found: Found, key: str) -> None:
        at = found.record.at(None) or "comment"
        self.reject(
            found.file,
            found.record.line,
            f"{at}: ticket {key} is in no ticket file of this folder and not stored yet "
            "(export the ticket too)",
            found.record.at("ticket_id") if found.record.field else "ticket_id",
            unrouted=True,
        )

    def count(
        self,
        session: Session,
        sources: list[Source],
        ticket_id: str | None,
        counts: KindCounts,
        account_id: str,
    ) -> None:
        """Queue one ticket's sources; it is counted once (new, updated or duplicate) when the
        batch is stored."""
        self.pending.append((sources, ticket_id, counts, account_id))
        self.pending_sources += len(sources)
        if self.pending_sources >= _BATCH:
            self.flush(session)

    def flush(self, session: Session) -> None:
        """Upsert the queued sources in one go (one query per batch, not per ticket)."""
        status = upsert_sources(session, [s for batch in self.pending for s in batch[0]])
        changed: set[str] = set()
        for sources, ticket_id, counts, account_id in self.pending:
            mine = [status[s.id] for s in sources]
            if ticket_id is not None and status.get(ticket_id) == "new":
                counts.new += 1
            elif any(s != "unchanged" for s in mine):
                counts.updated += 1
            else:
                counts.duplicates += 1
                continue
            changed.add(account_id)
        # In the same transaction as the sources: a kill after it still bumps the versions.
        owe_accounts(session, changed)
        self.report.changed_accounts |= changed
        self.pending.clear()
        self.pending_sources = 0


def _order(key: str) -> tuple[int, str]:
    return (0, f"{int(key):020d}") if key.isdigit() else (1, key)


def _newer_than(stored: SourceRow, updated: Any) -> bool:
    mine = when((stored.meta or {}).get("updated_at"))
    return mine is not None and (updated is None or mine > updated)


def _context(row: SourceRow) -> TicketContext:
    meta = row.meta or {}
    ticket_id = row.id.removeprefix("ticket:")
    return TicketContext(
        ticket_id, row.account_id, row.title, meta.get("status"), meta.get("requester_id"), row.date
    )


def _stored_tickets(session: Session, keys: set[str]) -> dict[str, SourceRow]:
    ids = sorted(ticket_source_id(key) for key in keys)
    found: dict[str, SourceRow] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = session.scalars(select(SourceRow).where(SourceRow.id.in_(chunk)))
        found.update({row.id.removeprefix("ticket:"): row for row in rows})
    return found


def load_ticket_files(
    store: Store, files: Iterable[tuple[Path, str]], log: RejectLog, report: IngestReport
) -> dict[str, KindCounts]:
    """Read, merge and store every ticket file; the counts per file (relative name)."""
    return TicketLoader(store, log, report).run(files)
