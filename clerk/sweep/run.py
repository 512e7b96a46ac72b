"""The sweep: for every account, compute, draft, verify, flag gaps and store — incrementally.

Per account: load the account and its value case, evaluate every outcome in SQL
(clerk.engine.calculations / clerk.engine.metrics), hand each outcome to the drafter with the
customer's words up to as-of, verify every draft (clerk.engine.verify), raise gap flags
(clerk.engine.gaps) and store it all in ONE transaction together with the account's
fingerprint in ``sweep_state``. An
account whose fingerprint (evidence version, account and value-case hashes, as-of, thresholds,
drafter) is unchanged is skipped, so a second sweep costs a few queries per account, and a
sweep killed at any point resumes where it stopped without twins (ids are stable).

Drafter calls of different accounts run concurrently, at most ``settings.llm_max_concurrency``
at once; database work stays on the event loop's thread, one account at a time.

With the offline (extractive) drafter the work is CPU, not waiting: a sweep of at least
``POOL_MIN_ACCOUNTS`` accounts then runs ``settings.sweep_workers`` worker processes (0: one
per core) that each load, compute, draft and verify accounts on their own database
connection (reads only), while this process stores the results, up to ``STORE_BATCH``
finished accounts per transaction (every account whole in it: a kill before the commit
leaves those accounts to the next sweep, a failing one is retried alone). The lock, the
fingerprints and the per-account atomicity are the parent's; a worker exits when its parent
is gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from clerk.domain.models import GapFlag, ProofItem
from clerk.drafting import get_drafter
from clerk.drafting.base import Drafter, DraftResult
from clerk.engine.calculations import OutcomeResult
from clerk.engine.gaps import Thresholds
from clerk.settings import Settings, get_settings
from clerk.store import Store
from clerk.store.tables import (
    AccountRow,
    GapFlagRow,
    SweepRow,
    SweepStateRow,
    ValueCaseRow,
    utcnow,
)
from clerk.sweep.account import Prepared, build, prepare, ranked, request_for, share_states
from clerk.sweep.csm_digests import AccountChanges, record_changes
from clerk.sweep.drafts import SaveStats, Slot, save_drafts
from clerk.sweep.lock import mark_interrupted, sweep_lock
from clerk.sweep.stages import StageTimes, timed

if TYPE_CHECKING:
    from retrievers import HybridIndex

log = logging.getLogger(__name__)
# What clerk.sweep.account.build returns: verified items, gap flags, slots, evidence keys.
Built = tuple[list[ProofItem], list[GapFlag], list[Slot], dict[str, str]]
# Worker processes pay off only when there is enough to share out.
POOL_MIN_ACCOUNTS = 16
# Accounts the parent of a pooled sweep commits together (one commit instead of one each).
STORE_BATCH = 32
# Bump when the engine's output for the same evidence changes, so every account is redrafted.
ENGINE_VERSION = "1"


@dataclass
class SweepReport:
    """What a sweep did."""

    as_of: dt.date
    sweep_id: int | None = None
    accounts: int = 0  # accounts considered
    swept: int = 0  # accounts (re)drafted
    skipped: int = 0  # accounts whose evidence had not changed
    failed: dict[str, str] = field(default_factory=dict)  # account id -> error
    new_items: int = 0
    superseded: int = 0
    new_gaps: int = 0
    resolved_gaps: int = 0
    seconds: float = 0.0
    workers: int = 0  # worker processes that drafted (0: all in this process)
    changes: list[AccountChanges] = field(default_factory=list)
    # "account/outcome" -> what the drafter refused, fell back on or gave up (kept in SQL).
    drafter_notes: dict[str, list[str]] = field(default_factory=dict)
    # Seconds per stage (clerk.sweep.stages.STAGES), summed over the accounts swept.
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "swept": self.swept,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "new_items": self.new_items,
            "superseded": self.superseded,
            "new_gaps": self.new_gaps,
            "resolved_gaps": self.resolved_gaps,
            "drafter_notes": sum(len(n) for n in self.drafter_notes.values()),
            "seconds": round(self.seconds, 3),
        }


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


_LATER_TUNABLES = (
    "severe_attainment",
    "few_events",
    "gap_due_days_high",
    "gap_due_days_medium",
    "gap_due_days_low",
)


def fingerprint(
    row: AccountRow,
    vc_hash: str | None,
    as_of: dt.date,
    settings: Settings,
    drafter: str,
    shares: str | None = None,
) -> str:
    """What an account's drafts depend on; equal fingerprints mean nothing to redo."""
    parts = [
        ENGINE_VERSION,
        row.evidence_version,
        row.content_hash,
        vc_hash,
        as_of.isoformat(),
        settings.stale_days,
        settings.usage_drop_pct,
        settings.statement_tolerance_pct,
        settings.attainment_bound_pct,
        drafter,
    ]
    # Later tunables count only when changed, so a store swept before they existed (with the
    # defaults) is not redrafted just for upgrading.
    parts += [
        [name, getattr(settings, name)]
        for name in _LATER_TUNABLES
        if getattr(settings, name) != Settings.model_fields[name].default
    ]
    if shares is not None:  # only accounts with share links: others keep their fingerprint
        parts += [shares, settings.share_answer_days]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _summary_item(item: ProofItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "outcome": item.outcome,
        "kind": item.kind,
        "claim": item.claim,
        "status": item.status,
    }


def _summary_gap(gap: GapFlag | GapFlagRow) -> dict[str, Any]:
    if isinstance(gap, GapFlagRow):
        return {
            "id": gap.id,
            "outcome": gap.outcome_id,
            "kind": gap.kind,
            "message": gap.payload.get("message", ""),
            "severity": gap.severity,
        }
    return {
        "id": gap.id,
        "outcome": gap.outcome,
        "kind": gap.kind,
        "message": gap.message,
        "severity": gap.severity,
    }


def store_account(
    store: Store,
    prep: Prepared,
    drafts: dict[str, DraftResult],
    as_of: dt.date,
    drafter: str,
    thresholds: Thresholds,
    sweep_id: int | None = None,
    times: StageTimes | None = None,
    built: Built | None = None,
    session: Session | None = None,
) -> AccountChanges:
    """Build, verify and store one account's drafts, its fingerprint and the lines its CSM's
    digest owes (``clerk.sweep.csm_digests``), in one transaction.

    ``built``: what :func:`clerk.sweep.account.build` returned for them (a worker process did
    it), so only the storing is left. ``session``: the caller's transaction, which commits
    this account together with others of a batch (see :func:`_store_batch`); without it the
    account gets a transaction of its own."""
    if built is None:
        built = build(prep, drafts, as_of, drafter, thresholds, times)
    items, gaps, slots, keys = built
    account = prep.account
    by_item = {i.id: i for i in items}
    by_gap = {g.id: g for g in gaps}
    with timed(times, "storing"), _transaction(store, session) as session:
        stats: SaveStats = save_drafts(session, account.id, as_of, items, gaps, slots, keys)
        resolved = [session.get(GapFlagRow, g) for g in stats.resolved_gaps]
        changes = AccountChanges(
            account_id=account.id,
            name=account.name,
            csm=account.csm,
            new_items=[_summary_item(by_item[i]) for i in stats.new_items],
            new_gaps=[_summary_gap(by_gap[g]) for g in stats.new_gaps],
            resolved_gaps=[_summary_gap(r) for r in resolved if r is not None],
            superseded=len(stats.superseded),
        )
        record_changes(session, changes, sweep_id=sweep_id, as_of=as_of)
        _save_state(session, account.id, as_of, prep.fingerprint)
    return changes


@contextmanager
def _transaction(store: Store, session: Session | None) -> Iterator[Session]:
    """``session`` as it is (its owner commits), else a new transaction of its own."""
    if session is not None:
        yield session
        return
    with store.session() as own:
        yield own


def _save_state(session: Session, account_id: str, as_of: dt.date, fingerprint: str) -> None:
    """Upsert the account's fingerprint (one statement; ``merge`` read the row first)."""
    values = {
        "account_id": account_id,
        "as_of": as_of,
        "fingerprint": fingerprint,
        "swept_at": utcnow(),
    }
    upsert = _state_upsert(session.get_bind().dialect.name)
    if upsert is None:
        session.merge(SweepStateRow(**values))
        return
    session.connection().execute(upsert, values)  # Core: no ORM execute path per account


_UPSERTS: dict[str, Any] = {}


def _state_upsert(dialect: str) -> Any:
    """The dialect's fingerprint upsert, built once per sweep process (building and coercing
    the statement per account cost more than running it); None without an upsert."""
    if dialect in _UPSERTS:
        return _UPSERTS[dialect]
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    upsert: Any = None
    if insert is not None:
        upsert = insert(SweepStateRow)  # the dialect's own Insert; values come as parameters
        upsert = upsert.on_conflict_do_update(
            index_elements=[SweepStateRow.account_id, SweepStateRow.as_of],
            set_={
                "fingerprint": upsert.excluded.fingerprint,
                "swept_at": upsert.excluded.swept_at,
            },
        )
    _UPSERTS[dialect] = upsert
    return upsert


async def _draft_all(
    store: Store,
    prep: Prepared,
    as_of: dt.date,
    drafter: Drafter,
    limit: asyncio.Semaphore,
    index: HybridIndex | None,
    times: StageTimes | None = None,
) -> dict[str, DraftResult]:
    # A drafter that reads only the top passages (an LLM) asks for them ranked by search.
    wants_ranking = drafter.ranked_evidence

    async def one(result: OutcomeResult) -> tuple[str, DraftResult]:
        evidence = prep.evidence
        notes: list[str] = []
        if wants_ranking:
            with timed(times, "retrieval"):
                evidence = ranked(
                    store, prep.account, result.outcome, as_of, evidence, index, notes
                )
        request = request_for(prep, result, as_of, evidence)
        async with limit:
            try:
                with timed(times, "drafting"):
                    draft = await drafter.draft(request)
            except Exception as exc:  # noqa: BLE001 - one failed draft must not stop the sweep
                where = f"{prep.account.id}/{result.outcome.id}"
                log.exception("%s: drafter %s failed", where, drafter.name)
                notes.append(f"drafter {drafter.name} failed: {type(exc).__name__}: {exc}")
                # The claims fall back to the engine's templates: no model wrote them.
                return result.outcome.id, DraftResult(drafted_by="extractive", notes=notes)
        if notes:
            draft = draft.model_copy(update={"notes": notes + draft.notes})
        return result.outcome.id, draft

    pairs = await asyncio.gather(*(one(r) for r in prep.results.values()))
    return dict(pairs)


# --- worker processes (offline drafter) ----------------------------------------------------
_WORKER: dict[str, Any] = {}


@dataclass
class Worked:
    """One account as a worker process left it: ready for the parent to store."""

    account_id: str
    prep: Prepared | None = None  # without its sources and evidence (the parent needs neither)
    built: Built | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def _watch_parent(parent: int) -> None:
    # A SIGKILLed sweep must not leave its workers behind (they would wait on the queue).
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_init(url: str, settings: Settings, thresholds: Thresholds, parent: int) -> None:
    _WORKER["store"] = Store(url, migrate=False)
    _WORKER["settings"] = settings
    _WORKER["thresholds"] = thresholds
    _WORKER["drafter"] = get_drafter(settings)
    _WORKER["loop"] = asyncio.new_event_loop()  # one per worker, not one per account
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _prepared(
    store: Store,
    settings: Settings,
    account_id: str,
    fingerprint: str,
    as_of: dt.date,
    times: StageTimes | None,
    has_shares: bool,
) -> Prepared:
    """One account loaded and computed (``clerk.sweep.account.prepare``) with the evidence
    fingerprint the sweep saw, as both the parent and a worker process do it."""
    with store.session() as session:
        prep = prepare(
            session,
            account_id,
            as_of,
            few_events=settings.few_events,
            times=times,
            has_shares=has_shares,
        )
    prep.fingerprint = fingerprint
    return prep


def _worker_account(account_id: str, fp: str, as_of: dt.date, has_shares: bool) -> Worked:
    """Load, compute, draft and verify one account in a worker process (reads only)."""
    store: Store = _WORKER["store"]
    settings: Settings = _WORKER["settings"]
    drafter: Drafter = _WORKER["drafter"]
    times = StageTimes()
    try:
        prep = _prepared(store, settings, account_id, fp, as_of, times, has_shares)
        loop: asyncio.AbstractEventLoop = _WORKER["loop"]
        limit = asyncio.Semaphore(1)
        drafts = loop.run_until_complete(
            _draft_all(store, prep, as_of, drafter, limit, None, times)
        )
        built = build(prep, drafts, as_of, drafter.name, _WORKER["thresholds"], times)
    except Exception as exc:  # noqa: BLE001 - one broken account must not stop the rest
        log.exception("sweep of %s failed", account_id)
        return Worked(account_id, error=f"{type(exc).__name__}: {exc}")
    notes = {k: list(d.notes) for k, d in drafts.items() if d.notes}
    prep.sources, prep.evidence, prep.results = {}, [], {}
    return Worked(account_id, prep, built, notes, dict(times.seconds))


def _pool_size(settings: Settings, drafter: Drafter | None, index: Any, todo: int) -> int:
    """How many worker processes this sweep runs (0: none, all in this process)."""
    if drafter is not None or index is not None or todo < POOL_MIN_ACCOUNTS:
        return 0  # a drafter object of the caller's (tests, a model) stays in this process
    if (settings.llm or "extractive").strip() != "extractive":
        return 0  # a model server: the work is waiting, which the event loop already overlaps
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    workers = settings.sweep_workers or os.cpu_count() or 1
    return workers if workers > 1 else 0


async def arun_sweep(
    store: Store | None = None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    drafter: Drafter | None = None,
    index: HybridIndex | None = None,
    console: Console | None = None,
    settings: Settings | None = None,
    force: bool = False,
) -> SweepReport:
    """The sweep as a coroutine (for callers that already run an event loop).

    One sweep at a time per store (``clerk.sweep.lock``): a second one waits up to
    ``settings.sweep_lock_wait`` seconds, then raises ``SweepBusy``.
    """
    settings = settings or get_settings()
    store = store or Store()
    with sweep_lock(store, settings.sweep_lock_wait):
        mark_interrupted(store)
        return await _locked_sweep(store, as_of, account, drafter, index, console, settings, force)


async def _locked_sweep(
    store: Store,
    as_of: dt.date | None,
    account: str | None,
    drafter: Drafter | None,
    index: Any,
    console: Console | None,
    settings: Settings,
    force: bool,
) -> SweepReport:
    given = drafter
    drafter = drafter or get_drafter(settings, store)
    as_of = as_of or today_utc()
    thresholds = Thresholds.from_settings(settings)
    report = SweepReport(as_of=as_of)
    times = StageTimes()
    started = time.perf_counter()

    with store.session() as session:
        query = select(AccountRow).order_by(AccountRow.id)
        if account is not None:
            query = query.where(AccountRow.id == account)
        rows = session.scalars(query).all()
        if account is not None and not rows:
            raise LookupError(f"unknown account {account!r}")
        vc_hashes: dict[str, str] = {
            a: h
            for a, h in session.execute(select(ValueCaseRow.account_id, ValueCaseRow.content_hash))
        }
        done: dict[str, str] = {
            a: f
            for a, f in session.execute(
                select(SweepStateRow.account_id, SweepStateRow.fingerprint).where(
                    SweepStateRow.as_of == as_of
                )
            )
        }
        shares = share_states(session)
        sweep = SweepRow(as_of=as_of, started_at=utcnow(), status="running", stats={})
        session.add(sweep)
        session.flush()
        report.sweep_id = sweep.id
    drafter.sweep_id = report.sweep_id  # the LLM drafter tags its llm_calls rows with it
    todo: list[tuple[str, str]] = []
    for row in rows:
        fp = fingerprint(
            row, vc_hashes.get(row.id), as_of, settings, drafter.name, shares.get(row.id)
        )
        if done.get(row.id) == fp and not force:
            report.skipped += 1
        else:
            todo.append((row.id, fp))
    report.accounts = len(rows)

    # The LLM drafter bounds its own calls to what the server serves at once (see llm.py).
    concurrency = settings.llm_max_concurrency or 8
    limit = asyncio.Semaphore(max(1, concurrency))
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for pair in todo:
        queue.put_nowait(pair)
    progress = _progress(console)
    task = progress.add_task("Sweeping", total=len(todo)) if progress else None

    async def worker() -> None:
        while not queue.empty():
            account_id, fp = queue.get_nowait()
            try:
                prep = _prepared(
                    store, settings, account_id, fp, as_of, times, account_id in shares
                )
                drafts = await _draft_all(store, prep, as_of, drafter, limit, index, times)
                for outcome_id, draft in drafts.items():
                    if draft.notes:
                        report.drafter_notes[f"{account_id}/{outcome_id}"] = list(draft.notes)
                changes = store_account(
                    store, prep, drafts, as_of, drafter.name, thresholds, report.sweep_id, times
                )
            except Exception as exc:  # noqa: BLE001 - one broken account must not stop the rest
                # The summary says which account and why; the log keeps the traceback.
                log.exception("sweep of %s failed", account_id)
                report.failed[account_id] = f"{type(exc).__name__}: {exc}"
            else:
                _record(report, changes)
            if progress is not None and task is not None:
                progress.advance(task)

    pool = _pool_size(settings, given, index, len(todo))
    report.workers = pool
    try:
        if pool:
            _sweep_in_pool(
                store,
                todo,
                as_of,
                drafter.name,
                thresholds,
                settings,
                pool,
                report,
                times,
                progress,
                task,
                shares,
            )
        else:
            if progress is not None:
                progress.start()
            workers = max(1, min(concurrency, len(todo)))
            await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        if progress is not None:
            progress.stop()

    report.changes.sort(key=lambda c: c.account_id)
    report.seconds = time.perf_counter() - started
    report.stage_seconds = dict(times.seconds)
    with store.session() as session:
        sweep_row = session.get(SweepRow, report.sweep_id)
        if sweep_row is not None:
            sweep_row.finished_at = utcnow()
            sweep_row.status = "failed" if report.failed else "done"
            sweep_row.stats = {
                **report.stats(),
                "errors": dict(list(report.failed.items())[:50]),
                "notes": dict(sorted(report.drafter_notes.items())[:500]),
            }
    return report


def _record(report: SweepReport, changes: AccountChanges) -> None:
    report.swept += 1
    report.changes.append(changes)
    report.new_items += len(changes.new_items)
    report.superseded += changes.superseded
    report.new_gaps += len(changes.new_gaps)
    report.resolved_gaps += len(changes.resolved_gaps)


def _sweep_in_pool(
    store: Store,
    todo: list[tuple[str, str]],
    as_of: dt.date,
    drafter: str,
    thresholds: Thresholds,
    settings: Settings,
    workers: int,
    report: SweepReport,
    times: StageTimes,
    progress: Progress | None,
    task: Any,
    shares: dict[str, str],
) -> None:
    """Workers compute, draft and verify; this process stores the accounts as they come back,
    up to ``STORE_BATCH`` finished accounts per transaction (``_store_batch``)."""
    context = multiprocessing.get_context("fork")
    initargs = (store.url, settings, thresholds, os.getpid())
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_init, initargs=initargs
    ) as pool:
        pairs = iter(todo)
        inflight: dict[Future[Worked], str] = {}

        def refill() -> None:
            # A few accounts queued per worker keep them busy while this process stores.
            while len(inflight) < 4 * workers:
                pair = next(pairs, None)
                if pair is None:
                    return
                account_id, fp = pair
                future = pool.submit(_worker_account, account_id, fp, as_of, account_id in shares)
                inflight[future] = account_id

        refill()  # the workers fork before the progress bar starts its thread
        if progress is not None:
            progress.start()
        ready: list[Worked] = []
        while inflight:
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            finished = [(inflight.pop(f), f) for f in done]
            refill()
            for account_id, future in sorted(finished, key=lambda p: p[0]):
                if progress is not None and task is not None:
                    progress.advance(task)
                try:
                    worked = future.result()
                except Exception as exc:  # noqa: BLE001 - one broken account must not stop the rest
                    log.exception("sweep of %s failed", account_id)
                    report.failed[account_id] = f"{type(exc).__name__}: {exc}"
                    continue
                if worked.error is not None or worked.prep is None:
                    report.failed[account_id] = worked.error or "no result"  # the worker logged it
                    continue
                for stage, seconds in worked.seconds.items():
                    times.add(stage, seconds)
                for outcome_id, notes in worked.notes.items():
                    report.drafter_notes[f"{account_id}/{outcome_id}"] = notes
                ready.append(worked)
            if len(ready) >= STORE_BATCH or not inflight:
                _store_batch(store, ready, as_of, drafter, thresholds, report, times)
                ready = []


def _store_batch(
    store: Store,
    batch: list[Worked],
    as_of: dt.date,
    drafter: str,
    thresholds: Thresholds,
    report: SweepReport,
    times: StageTimes,
) -> None:
    """Store finished accounts in one transaction: each account is whole in it, and a kill
    before the commit leaves all of them to the next sweep. When one of them fails, the
    batch is rolled back and each account stored on its own, so only that one fails."""
    finished = [(w.account_id, w.prep, w.built) for w in batch if w.prep is not None]

    def store_one(
        prep: Prepared, built: Built | None, session: Session | None = None
    ) -> AccountChanges:
        return store_account(
            store,
            prep,
            {},
            as_of,
            drafter,
            thresholds,
            report.sweep_id,
            times,
            built=built,
            session=session,
        )

    if not finished:
        return
    try:
        with store.session() as session:
            stored = [store_one(prep, built, session) for _, prep, built in finished]
    except Exception:  # noqa: BLE001 - retried one by one below, where the culprit is named
        log.debug("a batch of %d accounts failed; storing them one by one", len(finished))
    else:
        for changes in stored:
            _record(report, changes)
        return
    for account_id, prep, built in finished:
        try:
            changes = store_one(prep, built)
        except Exception as exc:  # noqa: BLE001 - one broken account must not stop the rest
            log.exception("sweep of %s failed", account_id)
            report.failed[account_id] = f"{type(exc).__name__}: {exc}"
        else:
            _record(report, changes)


def run_sweep(
    store: Store | None = None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    drafter: Drafter | None = None,
    index: HybridIndex | None = None,
    console: Console | None = None,
    settings: Settings | None = None,
    force: bool = False,
) -> SweepReport:
    """Sweep every account (or one) at ``as_of`` (default: today, UTC); see the module doc.

    ``force`` redrafts accounts whose fingerprint is unchanged (ids stay stable, so this adds
    nothing unless the engine or drafter now says something else).
    """
    return asyncio.run(
        arun_sweep(
            store,
            as_of=as_of,
            account=account,
            drafter=drafter,
            index=index,
            console=console,
            settings=settings,
            force=force,
        )
    )


def _progress(console: Console | None) -> Progress | None:
    if console is None:
        return None
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


__all__ = [
    "AccountChanges",
    "SweepReport",
    "arun_sweep",
    "run_sweep",
]
