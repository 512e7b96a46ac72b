"""What model calls cost: one ``llm_calls`` row per call, the answer cache, and summaries.

The LLM drafter writes here through ``write_calls`` (a batch of calls and the valid answers
among them, in one transaction) and reads ``cache_get``; ``clerk llm-usage`` reads
``usage_summary``. The cache key is a hash of everything that decides an answer (model,
rendered messages, schema, method), so unchanged evidence finds its answer again and a
re-sweep costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from clerk.drafting.llm_modes import cause_line
from clerk.store import Store
from clerk.store.tables import LLMCacheRow, LLMCallRow, LLMModeRow, utcnow

CallStatus = Literal["ok", "retried", "failed", "cached", "skipped"]
STATUSES: tuple[str, ...] = ("ok", "retried", "failed", "cached", "skipped")


@dataclass
class CallRecord:
    """One logical model call: its attempts, tokens, time and how it ended."""

    task: str
    model: str
    prompt_hash: str
    status: CallStatus
    sweep_id: int | None = None
    account_id: str | None = None
    outcome_id: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    mode: str | None = None
    # When the call ended, not when its row was written (rows are written in batches).
    created_at: dt.datetime = field(default_factory=utcnow)


def prompt_hash(
    model: str, messages: list[dict[str, str]], schema: dict[str, Any], method: str
) -> str:
    """A stable key for an answer: same model, messages, schema and method -> same hash."""
    blob = json.dumps(
        {"model": model, "messages": messages, "schema": schema, "method": method},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def record_call(
    store: Store,
    record: CallRecord,
    cache_key: str | None = None,
    answer: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Append one row to ``llm_calls``; with ``answer`` (model, response), cache it too."""
    response = answer[1] if answer is not None and cache_key is not None else None
    if response is not None and cache_key != record.prompt_hash:
        record = CallRecord(**{**asdict(record), "prompt_hash": cache_key})
    write_calls(store, [(record, response)])


def write_calls(store: Store, calls: Sequence[tuple[CallRecord, dict[str, Any] | None]]) -> None:
    """Append ``llm_calls`` rows and cache the valid answers among them, in one transaction.

    ``calls`` pairs each record with the answer to cache under its prompt hash (or None).
    An answer already cached (a twin prompt, another process) is left as it is. The drafter
    writes in batches: a commit per call was a third of its CPU per call.
    """
    if not calls:
        return
    rows = [asdict(record) for record, _ in calls]
    answers: dict[str, dict[str, Any]] = {}
    for record, response in calls:
        if response is not None:
            answers.setdefault(
                record.prompt_hash,
                {"prompt_hash": record.prompt_hash, "model": record.model,
                 "response": response, "created_at": record.created_at},
            )  # fmt: skip
    try:
        with store.session() as session:
            session.execute(insert(LLMCallRow), rows)
            if answers:
                known = session.scalars(
                    select(LLMCacheRow.prompt_hash).where(LLMCacheRow.prompt_hash.in_(answers))
                )
                for key in known:
                    answers.pop(key, None)
                if answers:
                    session.execute(insert(LLMCacheRow), list(answers.values()))
    except IntegrityError:
        # Another process cached one of these answers in between: record the calls alone.
        with store.session() as session:
            session.execute(insert(LLMCallRow), rows)


_CACHE_READ = select(LLMCacheRow.response).where(LLMCacheRow.prompt_hash == bindparam("key"))


def cache_get(store: Store, key: str) -> dict[str, Any] | None:
    """The cached answer for a prompt hash, if any."""
    # One statement built once and a bare connection: no ORM session, nothing to commit.
    # This runs once per outcome on the sweep's event loop.
    with store.engine.connect() as connection:
        response = connection.execute(_CACHE_READ, {"key": key}).scalar()
    return dict(response) if response is not None else None


@dataclass
class UsageRow:
    """Totals for one (model, task) pair, or for all calls when both are ``"all"``."""

    model: str
    task: str
    calls: int = 0
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def cache_hits(self) -> int:
        return self.statuses.get("cached", 0)


@dataclass
class UsageSummary:
    sweep_id: int | None
    rows: list[UsageRow]
    total: UsageRow
    errors: list[tuple[str, int]]  # most frequent errors first
    modes: dict[str, int] = field(default_factory=dict)  # calls per structured-output mode


def latest_sweep_id(store: Store) -> int | None:
    """The newest sweep that made or looked up model calls."""
    with store.session() as session:
        return session.scalar(select(func.max(LLMCallRow.sweep_id)))


def usage_summary(store: Store, sweep_id: int | None = None) -> UsageSummary:
    """Calls, attempts, tokens, latency percentiles, statuses and errors, per model and task.

    ``sweep_id=None`` summarises every recorded call.
    """
    query = select(LLMCallRow)
    if sweep_id is not None:
        query = query.where(LLMCallRow.sweep_id == sweep_id)
    with store.session() as session:
        calls = list(session.scalars(query.order_by(LLMCallRow.id)))
    groups: dict[tuple[str, str], list[LLMCallRow]] = {}
    for call in calls:
        groups.setdefault((call.model, call.task), []).append(call)
    rows = [_totals(model, task, group) for (model, task), group in sorted(groups.items())]
    errors: dict[str, int] = {}
    for call in calls:
        if call.error:
            key = error_cause(call.error)
            errors[key] = errors.get(key, 0) + 1
    ranked = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))
    modes: dict[str, int] = {}
    for call in calls:
        if call.mode and call.status not in ("cached", "skipped"):
            modes[call.mode] = modes.get(call.mode, 0) + 1
    return UsageSummary(sweep_id, rows, _totals("all", "all", calls), ranked, modes)


def error_cause(error: str) -> str:
    """An error as one line that names its cause: "<kind> (HTTP n): <the meaningful line>".

    Stored errors start with the client's name for the error; what follows may be a
    multi-line server message whose first line ("1 validation error:") hides the cause.
    """
    head, sep, rest = error.partition(": ")
    if not sep:
        return cause_line(error)[:200]
    return f"{head}: {cause_line(rest)}"[:200]


@dataclass
class ModeMemory:
    """What is known about one endpoint and model: the working mode and what missed."""

    endpoint: str
    model: str
    mode: str
    system_honoured: bool | None = None
    misses: dict[str, str] = field(default_factory=dict)
    source: str = "sweep"
    updated_at: Any = None


def remembered_mode(store: Store, endpoint: str, model: str) -> ModeMemory | None:
    """The mode remembered for ``endpoint`` and ``model``, if any."""
    with store.session() as session:
        row = session.get(LLMModeRow, (endpoint, model))
        if row is None:
            return None
        return ModeMemory(row.endpoint, row.model, row.mode, row.system_honoured,
                          dict(row.misses or {}), row.source, row.updated_at)  # fmt: skip


def remember_mode(store: Store, memory: ModeMemory) -> None:
    """Store the working mode of an endpoint and model (replacing what was known)."""
    try:
        with store.session() as session:
            row = session.get(LLMModeRow, (memory.endpoint, memory.model))
            if row is None:
                row = LLMModeRow(endpoint=memory.endpoint, model=memory.model)
                session.add(row)
            row.mode = memory.mode
            if memory.system_honoured is not None or row.system_honoured is None:
                row.system_honoured = memory.system_honoured
            row.misses = dict(memory.misses)
            row.source = memory.source
            row.updated_at = utcnow()
    except IntegrityError:  # two drafters remembered it at once: the other one's row stands
        return


def all_modes(store: Store) -> list[ModeMemory]:
    """Every remembered endpoint and model, newest first."""
    with store.session() as session:
        rows = session.scalars(select(LLMModeRow).order_by(LLMModeRow.updated_at.desc()))
        return [ModeMemory(r.endpoint, r.model, r.mode, r.system_honoured, dict(r.misses or {}),
                           r.source, r.updated_at) for r in rows]  # fmt: skip


def _totals(model: str, task: str, calls: list[LLMCallRow]) -> UsageRow:
    row = UsageRow(model=model, task=task, calls=len(calls))
    for call in calls:
        row.attempts += call.attempts
        row.tokens_in += call.tokens_in
        row.tokens_out += call.tokens_out
        row.statuses[call.status] = row.statuses.get(call.status, 0) + 1
    # Cache hits and skipped calls take no time on the wire; they would flatter the percentiles.
    timed = sorted(c.latency_ms for c in calls if c.status not in ("cached", "skipped"))
    row.p50_ms = percentile(timed, 50)
    row.p95_ms = percentile(timed, 95)
    return row


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]
