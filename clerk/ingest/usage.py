"""Usage events into SQL: streamed in batches, deduplicated by identity, routed by subject.

The hot path avoids ORM objects: rows are plain tuples sent with one core
``INSERT ... ON CONFLICT DO NOTHING`` per batch (executemany). "New" and "duplicates" are exact
on both databases: SQLite reports an exact rowcount (and seq tells which rows are new), while on
PostgreSQL, whose executemany rowcount is not reliable, the batch's identities are looked up
first. Memory stays bounded by the batch size however long the file.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Connection, Insert, Table, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from clerk.ingest.digest_stats import UsageStats, arithmetic_matches
from clerk.ingest.events import EventError
from clerk.ingest.pending import owe_digests
from clerk.ingest.readers import ReadContext, UsageFile
from clerk.ingest.readers.mapping import Rule
from clerk.ingest.report import KindCounts, Reject, RejectLog
from clerk.ingest.staging import STAGE_TABLE, Staged
from clerk.store.tables import SubjectRow, UsageEventRow

EVENTS: Table = UsageEventRow.__table__  # type: ignore[assignment]
_STAGED = "staged"  # schema name of an attached staging database (clerk.ingest.staging)
# The months and the unrouted events among the rows above a seq (the rows a copy inserted).
_NEW_MONTHS = text(
    "SELECT DISTINCT account_id, type, substr(time, 1, 7) FROM usage_events "
    "WHERE seq > :seq AND account_id IS NOT NULL"
)
_NEW_UNROUTED = text(
    "SELECT subject, file, line FROM usage_events "
    "WHERE seq > :seq AND account_id IS NULL ORDER BY seq"
)
# Identities go to the lookup as one array parameter, in slices that keep it modest.
_LOOKUP_SLICE = 20_000
COLUMNS = ("source_id", "account_id", "subject", "type", "time", "data", "file", "line")
# A pending row, in COLUMNS order. On PostgreSQL time is a naive UTC datetime and data a dict;
# on SQLite both are already in storage form (the text SQLAlchemy's DateTime and JSON types
# write: "YYYY-MM-DD HH:MM:SS.ffffff" and compact JSON), built once per event while reading.
Row = tuple[str, str | None, str, str, dt.datetime | str, dict[str, Any] | str, str, int | None]


def insert_statement(dialect: str) -> Insert:
    """``INSERT INTO usage_events ... ON CONFLICT (source_id) DO NOTHING`` for the dialect."""
    if dialect == "postgresql":
        return postgresql.insert(EVENTS).on_conflict_do_nothing(index_elements=["source_id"])
    return sqlite.insert(EVENTS).on_conflict_do_nothing(index_elements=["source_id"])


class _Writer:
    """Inserts a batch and tells which rows were new, the fast way for each dialect.

    On SQLite, SQLAlchemy's per-row parameter processing costs more than the insert itself,
    so the compiled core statement runs through the driver with rows already in storage
    form (the same text SQLAlchemy's DateTime and JSON types would write). PostgreSQL takes
    the core statement as is.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        statement = insert_statement(conn.dialect.name)
        self.statement = statement
        self.sql = str(statement.compile(dialect=conn.dialect, column_keys=list(COLUMNS)))
        self.lookup = text("SELECT source_id FROM usage_events WHERE source_id = ANY(:ids)")

    def existing(self, ids: list[str]) -> set[str]:
        """The ids already stored (PostgreSQL: one array parameter per slice)."""
        found: set[str] = set()
        for start in range(0, len(ids), _LOOKUP_SLICE):
            chunk = ids[start : start + _LOOKUP_SLICE]
            found.update(self.conn.execute(self.lookup, {"ids": chunk}).scalars())
        return found

    def write(self, rows: list[Row]) -> list[Row]:
        """Insert the rows whose identity is not stored yet; return exactly those."""
        if not self.sqlite:
            existing = self.existing([r[0] for r in rows])
            fresh = [r for r in rows if r[0] not in existing]
            if fresh:
                self.insert(fresh)
            return fresh
        # SQLite: insert first, ask later. sqlite3's executemany rowcount is exact, so a batch
        # of only new rows (the usual case) needs no lookup at all; otherwise the new rows are
        # the ones with a seq (rowid) above the largest one before the insert.
        before = self.conn.execute(text("SELECT max(seq) FROM usage_events")).scalar() or 0
        inserted = self.insert(rows)
        if inserted == len(rows):
            return rows
        new_ids = set(
            self.conn.execute(
                text("SELECT source_id FROM usage_events WHERE seq > :seq"), {"seq": before}
            ).scalars()
        )
        return [r for r in rows if r[0] in new_ids]

    def insert(self, rows: list[Row]) -> int:
        """Insert rows (ON CONFLICT DO NOTHING); returns the rowcount the driver reports."""
        if self.sqlite:  # rows are in storage form already (see EventSink._read)
            return int(self.conn.exec_driver_sql(self.sql, rows).rowcount)
        result = self.conn.execute(
            self.statement, [dict(zip(COLUMNS, r, strict=True)) for r in rows]
        )
        return int(result.rowcount)


# SQLite page cache of the ingest's connection while it writes events, in KiB (negative is
# KiB for the pragma): the three indexes of usage_events take random inserts, and with the
# default 2 MiB cache most of them miss. Memory only; durability and locking are unchanged.
BULK_CACHE_KIB = 131_072


@contextmanager
def bulk_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the bulk insert, restored after (pooled connection)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def subject_routes(conn: Connection) -> dict[str, str]:
    """subject -> account id, for every subject any account claims."""
    return {s: a for s, a in conn.execute(select(SubjectRow.subject, SubjectRow.account_id))}


def month_of(time: dt.datetime) -> str:
    return f"{time.year:04d}-{time.month:02d}"


def _month(time: dt.datetime | str) -> str:
    """ "YYYY-MM" of a pending row's time, a datetime or its storage text."""
    return time[:7] if type(time) is str else month_of(time)  # type: ignore[arg-type]


class EventSink:
    """Takes parsed events one by one and writes them in batches.

    ``touched`` collects (account, event type, "YYYY-MM") of every new routed event, for the
    digests; ``accounts`` the accounts that received anything new. On SQLite ``stats`` gathers
    the digests' field statistics of the inserted events while they are in hand, so the
    digest phase need not unpack their JSON again (:mod:`clerk.ingest.digest_stats`).
    """

    def __init__(
        self,
        conn: Connection,
        routes: dict[str, str],
        log: RejectLog,
        *,
        batch_size: int,
        touched: set[tuple[str, str, str]],
        accounts: set[str],
    ) -> None:
        self.conn = conn
        self.routes = routes
        self.log = log
        self.batch_size = max(1, batch_size)
        self.touched = touched
        self.accounts = accounts
        self.writer = _Writer(conn)
        self.counts = KindCounts()
        self.unrouted_subjects: Counter[str] = Counter()
        self._batch: dict[str, Row] = {}
        # The data of each batched row, in batch order (SQLite rows hold it as text).
        self._data: list[dict[str, Any]] = []
        sqlite_sums = self.writer.sqlite and arithmetic_matches(conn)
        self.stats = UsageStats() if sqlite_sums else None
        self._owed: set[tuple[str, str, str]] = set()  # debts committed by this sink

    def ingest_file(
        self,
        path: Path,
        rel: str,
        progress: Callable[[int], None] | None = None,
        *,
        ctx: ReadContext | None = None,
        rule: Rule | None = None,
    ) -> tuple[KindCounts, UsageFile]:
        """Read one usage file to the end: the counts for this file alone and what it held."""
        before = self.counts.as_dict()
        reader = UsageFile(rel, ctx or ReadContext(), rule)
        with path.open("rb") as fh:
            try:
                self._read(reader, fh, progress)
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                # A truncated gzip or a broken zip: what came before it is kept, the file is
                # reported (and so read again on the next run).
                self.log.add(Reject("events", rel, None, f"cannot read the file to its end: {exc}"))
                self.counts.rejected += 1
            self.flush()
            if progress is not None and not fh.closed:
                progress(fh.tell())
        after = self.counts.as_dict()
        return KindCounts(**{k: after[k] - before[k] for k in after}), reader

    def _read(
        self, reader: UsageFile, fh: BinaryIO, progress: Callable[[int], None] | None
    ) -> None:
        # The hot loop: locals only, and on SQLite the row is built in its storage form here
        # (one tuple per event, no second pass over the batch before the insert).
        batch = self._batch
        routes = self.routes
        counts = self.counts
        storage = self.writer.sqlite
        dumps = orjson.dumps
        keep = self._data.append
        batch_size = self.batch_size
        for name, line, parsed in reader.items(fh):
            if isinstance(parsed, EventError):
                self.log.add(Reject("events", name, line, parsed.reason, parsed.field))
                counts.rejected += 1
                continue
            source_id, subject, kind, when, data = parsed
            if source_id in batch:
                counts.duplicates += 1
                continue
            if type(subject) is str:
                account = routes.get(subject)
            else:  # candidates, best first: the first an account claims, else the first
                assert isinstance(subject, tuple)
                subject = next((s for s in subject if s in routes), subject[0])
                account = routes.get(subject)
            if storage:
                batch[source_id] = (
                    source_id,
                    account,
                    subject,
                    kind,
                    when.isoformat(" ", "microseconds"),
                    dumps(data).decode(),
                    name,
                    line,
                )
                keep(data)
            else:
                batch[source_id] = (source_id, account, subject, kind, when, data, name, line)
            if len(batch) >= batch_size:
                self.flush()
                if progress is not None:
                    progress(fh.tell())

    def flush(self) -> None:
        """Write the pending batch; count what was new and what was stored already."""
        if not self._batch:
            return
        rows = list(self._batch.values())
        fresh = self.writer.write(rows)
        keys = self._months(fresh)
        owed = {key for key in keys if key is not None}
        # The debts commit with the events: a kill after this commit leaves them to the next run.
        # A debt this sink already committed stays in ingest_pending until the run settles, so
        # only the new ones are written (a batch usually repeats most of the last one's).
        debts = owed - self._owed
        owe_digests(self.conn, debts)
        self.conn.commit()
        self._owed |= debts
        self.counts.duplicates += len(rows) - len(fresh)
        self.counts.new += len(fresh)
        self.touched |= owed
        self.accounts.update({account for account, _, _ in owed})
        for row in fresh:
            if row[1] is None:  # (source_id, account_id, subject, ..., file, line)
                self._unrouted(row[2], row[6], row[7])
        if self.stats is not None:
            datas = self._data
            if len(fresh) != len(rows):  # only what was inserted: duplicates are left out
                new = {row[0] for row in fresh}
                datas = [d for row, d in zip(rows, datas, strict=True) if row[0] in new]
            self.stats.add(keys, datas)
        self._batch.clear()
        self._data.clear()

    def copy_staged(self, staged: Staged) -> None:
        """Take what a worker staged for one piece of a file (SQLite only): its rejects, then
        its rows copied into usage_events in the order read, with the same counts, debts,
        unrouted reports and digest statistics as :meth:`flush` of the same rows."""
        counts = self.counts
        for reject in staged.rejects:
            self.log.add(reject)
            counts.rejected += 1
        if not staged.rows:
            return
        conn = self.conn
        conn.commit()  # ATTACH and DETACH need no open transaction
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {_STAGED}", (staged.database,))
        try:
            before = conn.execute(text("SELECT max(seq) FROM usage_events")).scalar() or 0
            # In rowid order, the order read: the first occurrence of an identity wins.
            inserted = int(conn.exec_driver_sql(self._copy_sql).rowcount)
            if inserted == staged.rows:  # all new: the worker's months are the new ones
                owed = staged.touched
            else:
                owed = {(a, t, m) for a, t, m in conn.execute(_NEW_MONTHS, {"seq": before})}
            debts = owed - self._owed
            owe_digests(self.conn, debts)
            unrouted = (
                [(s, f, n) for s, f, n in conn.execute(_NEW_UNROUTED, {"seq": before})]
                if staged.unrouted
                else []
            )
            conn.commit()
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"DETACH DATABASE {_STAGED}")
        self._owed |= debts
        counts.duplicates += staged.rows - inserted
        counts.new += inserted
        self.touched |= owed
        self.accounts.update({account for account, _, _ in owed})
        for subject, name, line in unrouted:
            self._unrouted(subject, name, line)
        if self.stats is not None and staged.stats_state is not None:
            self.stats.merge_state(staged.stats_state, exact=inserted == staged.rows)

    @property
    def _copy_sql(self) -> str:
        columns = ", ".join(COLUMNS)
        return (
            f"INSERT INTO usage_events ({columns}) SELECT {columns} FROM {_STAGED}.{STAGE_TABLE} "
            "WHERE true ORDER BY rowid ON CONFLICT (source_id) DO NOTHING"
        )

    def _months(self, rows: list[Row]) -> list[tuple[str, str, str] | None]:
        """(account, event type, "YYYY-MM") of each row; None for a row routed nowhere."""
        if self.writer.sqlite:  # time is its storage text: the month is its first 7 characters
            return [(r[1], r[3], r[4][:7]) if r[1] is not None else None for r in rows]  # type: ignore[index]
        return [(r[1], r[3], _month(r[4])) if r[1] is not None else None for r in rows]

    def _unrouted(self, subject: str, file: str, line: int | None) -> None:
        self.counts.unrouted += 1
        self.unrouted_subjects[subject] += 1
        reason = (
            f"subject {subject!r} routes to no account (stored; routed once an account claims it)"
        )
        self.log.add(Reject("events", file, line, reason, "subject", "unrouted"))


def route_stored_events(
    conn: Connection,
    touched: set[tuple[str, str, str]],
    accounts: set[str],
) -> int:
    """Route events stored without an account to the accounts that now claim their subject.

    Returns how many events were routed; their months join ``touched``.
    """
    routes = subject_routes(conn)
    if not routes:
        return 0
    waiting = conn.execute(
        select(UsageEventRow.subject).where(UsageEventRow.account_id.is_(None)).distinct()
    ).scalars()
    claimed = [s for s in waiting if s in routes]
    routed = 0
    for subject in claimed:
        account = routes[subject]
        rows = conn.execute(
            select(UsageEventRow.type, UsageEventRow.time).where(
                UsageEventRow.subject == subject, UsageEventRow.account_id.is_(None)
            )
        )
        for event_type, time in rows:
            touched.add((account, event_type, month_of(time)))
        result = conn.execute(
            update(UsageEventRow)
            .where(UsageEventRow.subject == subject, UsageEventRow.account_id.is_(None))
            .values(account_id=account)
        )
        routed += result.rowcount or 0
        accounts.add(account)
    owe_digests(conn, touched)
    conn.commit()
    return routed


def unrouted_in_file(conn: Connection, rel: str) -> int:
    """How many events stored from this file route to no account (yet)."""
    count = conn.execute(
        select(func.count())
        .select_from(UsageEventRow)
        .where(UsageEventRow.file == rel, UsageEventRow.account_id.is_(None))
    ).scalar()
    conn.commit()
    return int(count or 0)
