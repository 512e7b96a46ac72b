"""Usage files parsed in worker processes into staging databases (SQLite stores, issue 17).

Parsing is most of an ingest's CPU, and one process cannot both parse and insert at the speed
of a bare insert. For a large usage input the files are cut into *pieces*: whole files, and
JSON-lines files split at line boundaries (never CSV, whose quoted fields may hold newlines,
never compressed files or one-document JSON). Worker processes read their piece with the same
readers as the sequential path and write the rows it would insert, in storage form, into an
unindexed staging SQLite file of their own, with the piece's rejects, counts and digest field
statistics. The ingest (:mod:`clerk.ingest.run`) copies each staging table into
``usage_events`` in piece order with one ``INSERT ... SELECT`` (so the first occurrence of an
identity still wins) while the workers parse later pieces.

This module is what a worker imports: it stays free of the store and the ORM so a worker
starts quickly.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing import forkserver
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from clerk.ingest.digest_stats import UsageStats
from clerk.ingest.events import EventError, loads
from clerk.ingest.readers import PEEK, Item, ReadContext, UsageFile
from clerk.ingest.readers.framing import BOM, GZIP_MAGIC, ZIP_MAGIC, first_byte
from clerk.ingest.readers.mapping import Rule
from clerk.ingest.report import Reject

# A JSON-lines file is cut into pieces of about this many bytes (the last one may be larger).
PIECE_BYTES = 4 << 20
STAGE_TABLE = "stage"
_INSERT = f"INSERT INTO {STAGE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_STAGE_BATCH = 20_000
# Pieces read ahead per worker process (see Staging).
AHEAD = 3

Touched = tuple[str, str, str]


class StagingError(Exception):
    """A worker could not read its piece (it raised, or its process died)."""


@dataclass(frozen=True)
class Piece:
    """One piece of one usage file, read by one worker into its own staging database."""

    index: int  # order of the pieces: files in order, a file's pieces in order
    path: str
    rel: str
    start: int  # byte offset
    end: int | None  # byte offset after the piece; None: the whole file
    first_line: int  # line number of the piece's first line
    rule: Rule | None
    ctx: ReadContext
    last: int | None = None  # the shape before the piece, when known (see UsageFile)

    @property
    def whole(self) -> bool:
        return self.end is None

    @property
    def head(self) -> bool:
        """The piece starts the file (read like the whole file, shape detection included)."""
        return self.start == 0


@dataclass(frozen=True)
class Setup:
    """What every piece is read against."""

    routes: dict[str, str]  # subject -> account
    stats: bool  # gather digest field statistics (the SQLite library sums as they assume)
    folder: str  # the staging folder
    ingest_pid: int = 0  # the ingest's process (its memory is not a worker's)


@dataclass
class Staged:
    """What a worker read from one piece: its staging file holds ``rows`` rows."""

    index: int
    database: str
    rows: int = 0
    unrouted: int = 0  # staged rows that route to no account
    rejects: list[Reject] = field(default_factory=list)
    stats: UsageStats | None = None  # of every staged row (duplicates included)
    # What ``stats`` held, in the compact form that travels back (UsageStats.merge_state).
    stats_state: list[tuple[object, ...]] | None = None
    touched: set[Touched] = field(default_factory=set)
    shapes: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    not_understood: list[str] = field(default_factory=list)
    # For a piece after the first: the shape its first record chose and whether another shape
    # accepted that record too (then the shape before the piece decides: see UsageFile).
    reached: bool = False
    start_shape: int | None = None
    ambiguous: bool = False
    last: int | None = None  # the shape of the piece's last record
    # Peak resident memory (KiB) of the process that read the piece and of its parent (the
    # fork server), for the benchmark's honest memory figure.
    peaks: dict[int, int] = field(default_factory=dict)
    cpu: tuple[int, float] = (0, 0.0)  # (pid, CPU seconds so far) of the process that read it


def read_piece(piece: Piece, setup: Setup) -> Staged:
    """Parse one piece into a fresh staging database, exactly as the sequential sink would
    build its rows (routing, storage form, rejects); duplicates are left to the copy."""
    again = "" if piece.last is None else f"-after-{piece.last}"
    database = os.path.join(setup.folder, f"piece-{piece.index:06d}{again}.db")
    result = Staged(piece.index, database, stats=UsageStats() if setup.stats else None)
    reader = UsageFile(piece.rel, piece.ctx, piece.rule)
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(
            f"CREATE TABLE {STAGE_TABLE} (source_id, account_id, subject, type, time, data, "
            "file, line)"
        )
        conn.execute("BEGIN")
        with open(piece.path, "rb") as raw:
            if piece.whole:
                items = reader.items(raw)
            else:
                raw.seek(piece.start)
                fh = io.BufferedReader(io.BytesIO(raw.read(piece.end - piece.start)))  # type: ignore[operator]
                if piece.head:
                    items = reader.items(fh)
                else:
                    items = reader.continuation(fh, piece.first_line, piece.last)
            try:
                _stage(items, conn, setup.routes, result)
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                # As the sequential sink: what came before is kept, the file is reported.
                reason = f"cannot read the file to its end: {exc}"
                result.rejects.append(Reject("events", piece.rel, None, reason))
        conn.execute("COMMIT")
    finally:
        conn.close()
    result.shapes = reader.shapes
    result.left_out = reader.left_out
    result.not_understood = reader.not_understood
    result.reached = reader.reached
    result.start_shape = reader.start_shape
    result.ambiguous = reader.ambiguous
    result.last = reader.last
    if result.stats is not None:
        result.stats_state, result.stats = result.stats.__getstate__(), None
    result.peaks = _peaks(setup.ingest_pid)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu = (os.getpid(), usage.ru_utime + usage.ru_stime)
    return result


def _peaks(ingest_pid: int) -> dict[int, int]:
    """{pid: peak RSS in KiB} of this process and, on Linux, of its parent when that is the
    fork server (not the ingest itself, as under spawn)."""
    peaks = {os.getpid(): resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    parent = os.getppid()
    if parent == ingest_pid:
        return peaks
    with suppress(OSError, ValueError):
        status = Path(f"/proc/{parent}/status").read_text()
        high = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        peaks[parent] = int(high.split()[1])
    return peaks


def _stage(
    items: Iterator[Item],
    conn: sqlite3.Connection,
    routes: dict[str, str],
    result: Staged,
) -> None:
    # The sink's hot loop (clerk.ingest.usage.EventSink._read), writing to the staging table.
    dumps = orjson.dumps
    rows: list[tuple[object, ...]] = []
    datas: list[object] = []
    keys: list[Touched | None] = []
    stats = result.stats
    touched = result.touched
    rejects = result.rejects
    for name, line, parsed in items:
        if isinstance(parsed, EventError):
            rejects.append(Reject("events", name, line, parsed.reason, parsed.field))
            continue
        source_id, subject, kind, when, data = parsed
        if type(subject) is str:
            account = routes.get(subject)
        else:  # candidates, best first: the first an account claims, else the first
            subject = next((s for s in subject if s in routes), subject[0])
            account = routes.get(subject)
        stamp = when.isoformat(" ", "microseconds")
        rows.append((source_id, account, subject, kind, stamp, dumps(data).decode(), name, line))
        if account is None:
            keys.append(None)
            result.unrouted += 1
        else:
            key = (account, kind, stamp[:7])
            keys.append(key)
            touched.add(key)
        datas.append(data)
        if len(rows) >= _STAGE_BATCH:
            _write(conn, rows, keys, datas, stats, result)
    _write(conn, rows, keys, datas, stats, result)


def _write(
    conn: sqlite3.Connection,
    rows: list[tuple[object, ...]],
    keys: list[Touched | None],
    datas: list[object],
    stats: UsageStats | None,
    result: Staged,
) -> None:
    if rows:
        conn.executemany(_INSERT, rows)
        result.rows += len(rows)
        if stats is not None:
            stats.add(keys, datas)
    rows.clear()
    keys.clear()
    datas.clear()


# --- cutting files into pieces --------------------------------------------------------------


def splittable(path: Path) -> bool:
    """True for a plain JSON-lines file: not compressed, and its first line is JSON on its
    own (then the reader reads the rest line by line, whatever the rest holds)."""
    with path.open("rb") as raw:
        head = raw.read(4)
        if head.startswith(GZIP_MAGIC) or head.startswith(ZIP_MAGIC):
            return False
        raw.seek(0)
        stream = raw
        if first_byte(stream) not in (b"{", b"["):
            return False
        first = stream.readline(PIECE_BYTES)
        if first.startswith(BOM):
            first = first[3:]
        while first and not first.strip():
            first = stream.readline(PIECE_BYTES)
        if not first.endswith(b"\n"):  # one long line (or one document): read whole
            return False
        try:
            loads(first)
        except ValueError:
            return False
    return True


def cut(path: Path, size: int, piece_bytes: int = PIECE_BYTES) -> list[tuple[int, int | None, int]]:
    """(start, end, first line) of the pieces of a file: [(0, None, 1)] when it is not split.

    Pieces end at a newline, each about ``piece_bytes`` long: the first a quarter of that
    when it still holds the records the reader looks at to tell the file's shape (so the
    copy starts sooner), the last up to half as long again. A file whose first piece cannot
    hold those records is not split."""
    whole: list[tuple[int, int | None, int]] = [(0, None, 1)]
    if size < 2 * piece_bytes or not splittable(path):
        return whole
    pieces: list[tuple[int, int | None, int]] = []
    start, line = 0, 1
    with path.open("rb") as raw:
        first = _piece(raw, 0, max(1, piece_bytes // 4))
        if first is None or not _peek_inside(first):
            first = _piece(raw, 0, piece_bytes)
        if first is None or not _peek_inside(first):
            return whole
        block: bytes | None = first
        while block is not None and size - start > piece_bytes * 3 // 2:
            pieces.append((start, start + len(block), line))
            line += block.count(b"\n")
            start += len(block)
            block = _piece(raw, start, piece_bytes)
    if not pieces:
        return whole
    if start < size:
        pieces.append((start, size, line))
    return pieces


def _piece(raw: BinaryIO, start: int, want: int) -> bytes | None:
    """The bytes from ``start`` to the end of the line ``want`` bytes on (None: no line end)."""
    raw.seek(start)
    block = raw.read(want)
    at = block.find(b"\n", want - 1)
    while at < 0:  # extend to the end of the line
        more = raw.read(1 << 16)
        if not more:
            return None
        block += more
        at = block.find(b"\n", want - 1)
    return block[: at + 1]


def _peek_inside(first: bytes) -> bool:
    """True when the first piece holds at least PEEK records (non-blank lines), so the
    records the reader looks at to tell a file's shape all lie in it, as when the file is read
    whole. (A line of an empty wrapper, ``{"events": []}``, counts here and holds none.)"""
    return sum(1 for line in first.split(b"\n") if line.strip()) >= PEEK


# --- the pool ---------------------------------------------------------------------------------

_SETUP: Setup | None = None


def _init(setup: Setup) -> None:
    global _SETUP
    _SETUP = setup


def _work(piece: Piece) -> Staged:
    assert _SETUP is not None
    return read_piece(piece, _SETUP)


def start_method() -> str:
    """fork where the platform forks safely (Linux, like the sweep's pool): the workers start
    in milliseconds with every module already imported, and an unguarded script or a notebook
    calling ``run_ingest`` works (forkserver and spawn re-run the caller's main module). The
    workers never touch the parent's connections: each opens its own staging file. Elsewhere
    forkserver where there is one, else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def figure_months(state: list[tuple[object, ...]]) -> dict[Touched, list[dict[str, object]] | None]:
    """The field statistics of some months (a part of the ingest's merged statistics)."""
    stats = UsageStats()
    stats.merge_state(state)
    return {key: stats.field_args(key) for key in stats.months}


class Staging:
    """The pieces being read by the workers (see :func:`staged_pieces`). At most
    :data:`AHEAD` pieces per worker are read ahead of the one being taken, so memory (their
    statistics) and staging disk stay bounded when the copy is slower than the reading."""

    def __init__(
        self,
        pieces: list[Piece],
        submit: Callable[[Piece], Future[Staged]],
        setup: Setup,
        workers: int,
        run: Callable[..., Future[Any]],
    ) -> None:
        self.pieces = pieces
        self.submit = submit
        self.setup = setup
        self.workers = max(1, workers)
        self.window = self.workers * AHEAD
        self.run = run
        self.futures: deque[Future[Staged]] = deque()
        self.submitted = 0

    def _fill(self, taken: int) -> None:
        while self.submitted < len(self.pieces) and self.submitted < taken + self.window:
            self.futures.append(self.submit(self.pieces[self.submitted]))
            self.submitted += 1

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()

    def __iter__(self) -> Iterator[tuple[Piece, Staged]]:
        """(piece, what it staged) in piece order, each as soon as it is ready; a piece's
        staging file is removed once the next one is asked for."""
        for taken, piece in enumerate(self.pieces):
            self._fill(taken)
            future = self.futures.popleft()
            try:
                staged = future.result()
            except BrokenProcessPool as exc:  # which piece was being read is not known
                raise StagingError(
                    f"a worker process reading the usage files died (killed, or out of "
                    f"memory?); {piece.rel} and the files after it were not read: {exc}"
                ) from exc
            except Exception as exc:
                where = piece.rel if piece.head else f"{piece.rel} from line {piece.first_line}"
                raise StagingError(
                    f"reading {where} in a worker process failed: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                yield piece, staged
            finally:
                _remove(staged.database, self.setup.folder)

    def figure(self, stats: UsageStats) -> None:
        """Compute the field statistics of the merged months in the worker processes, which
        are idle by now, instead of in the ingest's process during the digest phase."""
        exact = [month for month in stats.__getstate__() if month[2]]
        parts = [exact[i :: self.workers] for i in range(self.workers)]
        futures = [self.run(figure_months, part) for part in parts if part]
        figured = {}
        try:
            for future in futures:
                figured.update(future.result())
        except Exception:  # a worker gone: the digest phase computes them all, as without
            return
        stats.take_figures(figured)

    def again(self, piece: Piece) -> Staged:
        """Read a piece once more, in this process (with what the workers could not know)."""
        staged = read_piece(piece, self.setup)
        staged.peaks, staged.cpu = {}, (0, 0.0)  # this process: counted as the ingest's own
        return staged


@contextmanager
def staged_pieces(
    pieces: list[Piece],
    setup_for: Callable[[str], Setup],
    workers: int,
    home: Path,
    work: Callable[[Piece], Staged] = _work,
) -> Iterator[Staging]:
    """Read the pieces in ``workers`` processes, a few ahead of the caller. The staging folder
    (under ``home``) is removed afterwards, also when anything fails; a worker that raises or
    dies becomes a :class:`StagingError` naming its file and first line."""
    home.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="staging-", dir=home)
    try:
        setup = setup_for(folder)
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            forkserver.set_forkserver_preload([__name__])
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init, initargs=(setup,)
        )
        staging = Staging(
            pieces, lambda piece: pool.submit(work, piece), setup, workers, pool.submit
        )
        try:
            staging._fill(0)  # the workers start at once
            yield staging
        finally:
            staging.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove(database: str, folder: str) -> None:
    """Remove a piece's staging file as soon as it is copied (the folder goes at the end
    anyway); never a path outside the staging folder, whatever a worker answered."""
    if os.path.dirname(os.path.abspath(database)) != os.path.abspath(folder):
        return
    with suppress(FileNotFoundError):
        os.remove(database)
