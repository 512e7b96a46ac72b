"""One sweep at a time per store: an advisory lock, and the rows a dead sweep left behind.

Three sweeps started together used to race on the same draft ids and report dozens of
spurious IntegrityError failures (the data ended right, the exit status said otherwise).
:func:`sweep_lock` makes a second sweep wait for the first (up to
``CLERK_SWEEP_LOCK_WAIT`` seconds), then give up with :class:`SweepBusy`, a clear message.

- PostgreSQL: a session-level ``pg_try_advisory_lock`` on a connection held for the sweep;
  the server releases it when that connection ends, however the process dies.
- SQLite: an exclusive ``flock`` on ``<database file>.sweep-lock`` next to the database;
  the kernel releases it when the process dies.

Whoever holds the lock is the only sweep running, so any sweep row still ``running`` then
belongs to a process that is gone: :func:`mark_interrupted` records it as ``interrupted``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text, update

from clerk.store import Store
from clerk.store.tables import SweepRow, utcnow

# "clerk-sw" as a 64-bit integer: the advisory lock key of the sweep.
PG_LOCK_KEY = int.from_bytes(b"clerk-sw", "big") & 0x7FFFFFFFFFFFFFFF
POLL_SECONDS = 0.2


class SweepBusy(RuntimeError):
    """Another sweep holds the lock past the wait."""


def _busy(waited: float) -> SweepBusy:
    return SweepBusy(
        f"another sweep of this store is running (waited {waited:.0f} s); it goes on, and "
        "this one stopped before changing anything. Run it again when that sweep has "
        "finished, or raise CLERK_SWEEP_LOCK_WAIT to wait longer."
    )


@contextmanager
def sweep_lock(store: Store, wait: float) -> Iterator[None]:
    """Hold the store's sweep lock for the block; wait up to ``wait`` seconds for it."""
    if store.dialect == "postgresql":
        with _pg_lock(store, wait):
            yield
        return
    with _file_lock(_lock_path(store), wait):
        yield


@contextmanager
def _pg_lock(store: Store, wait: float) -> Iterator[None]:
    conn = store.engine.connect()
    try:
        started = time.monotonic()
        while not conn.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}
        ).scalar():
            conn.rollback()
            waited = time.monotonic() - started
            if waited >= wait:
                raise _busy(waited)
            time.sleep(POLL_SECONDS)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
    finally:
        conn.close()


def _lock_path(store: Store) -> Path:
    database = store.engine.url.database
    if not database or database == ":memory:":
        # One process only can see an in-memory database: a lock per process is enough.
        return Path(os.environ.get("TMPDIR", "/tmp")) / f"clerk-sweep-{os.getpid()}.lock"
    return Path(database).with_name(Path(database).name + ".sweep-lock")


@contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait:
                    raise _busy(waited) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def mark_interrupted(store: Store) -> int:
    """Sweep rows left ``running`` by a process that is gone become ``interrupted``.

    Call only while holding the lock: then no other sweep is running.
    """
    with store.session() as session:
        result = session.execute(
            update(SweepRow)
            .where(SweepRow.status == "running")
            .values(status="interrupted", finished_at=utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)
