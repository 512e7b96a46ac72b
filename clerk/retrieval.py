"""The bridge from the SQL sources (the truth) to the vector index (derived, rebuildable).

``sync_index`` indexes only what changed since the last sync, by comparing each source's
``content_hash`` with the ``index_state`` table; ``reindex`` drops the index and rebuilds it
from SQL; ``search`` runs the hybrid (BM25 + vector) search of ``retrievers`` for one account
and returns ``Evidence`` located in the sources' full texts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from clerk.domain.models import Evidence
from clerk.ingest.report import IngestReport
from clerk.settings import Settings, get_settings
from clerk.store import Store
from clerk.store.tables import IndexStateRow, OutcomeRow, SourceRow, utcnow
from retrievers import ChromaIndex, Filters, HybridIndex, MiniLMEmbedder, Passage, chunk_source
from retrievers.chunking import overlaps
from retrievers.passages import chunk_id

# Sources read, chunked and written per step: one transaction of index_state per step, so an
# interrupted sync keeps what it finished.
SOURCE_BATCH = 2000

Progress = Callable[[int, int], None]


@dataclass
class IndexStats:
    """What one sync or rebuild did."""

    sources: int = 0  # sources (re)indexed
    chunks: int = 0  # chunks written
    removed: int = 0  # sources dropped from the index
    unchanged: int = 0  # sources already indexed at their current content
    seconds: float = 0.0


@lru_cache(maxsize=8)
def _open(path: str, url: str | None, collection: str, batch_size: int) -> HybridIndex:
    embedder = MiniLMEmbedder(batch_size=batch_size)
    return HybridIndex(ChromaIndex(embedder, path=path, url=url, collection=collection))


def open_index(settings: Settings | None = None) -> HybridIndex:
    """The index the settings describe (one per location and collection in a process)."""
    settings = settings or get_settings()
    return _open(
        str(settings.chroma_path.resolve()),
        settings.chroma_url,
        settings.chroma_collection,
        settings.embedding_batch_size,
    )


DIGEST_ID = re.compile(r"^digest:(?P<account>[^/]+)/(?P<type>.+)/(?P<month>\d{4}-\d{2})$")

# What each (account, event type) is evidence for: the titles of outcomes whose formulas use
# it as a metric. A digest's index context names them, so "invoice approvals" finds the
# approval.completed digest even though the digest itself only speaks of events.
MetricUses = dict[tuple[str, str], list[str]]


def metric_uses(session: Session, account_id: str | None = None) -> MetricUses:
    """Outcome titles per (account, metric event type), from the stored value cases."""
    query = select(OutcomeRow.account_id, OutcomeRow.title, OutcomeRow.data).order_by(
        OutcomeRow.account_id, OutcomeRow.position
    )
    if account_id is not None:
        query = query.where(OutcomeRow.account_id == account_id)
    uses: MetricUses = {}
    for account, title, data in session.execute(query):
        for item in (data or {}).get("inputs") or []:
            metric = item.get("metric") if isinstance(item, dict) else None
            if metric and title not in uses.setdefault((account, metric), []):
                uses[(account, metric)].append(title)
    return uses


def _words(event_type: str) -> str:
    return re.sub(r"[._\-/]+", " ", event_type).strip()


def _month_words(month: str) -> str:
    try:
        return dt.datetime.strptime(month, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return month


def digest_context(event_type: str, month: str, uses: Sequence[str] = ()) -> str:
    """The line embedded with a digest: its event type in words, its month, its outcomes."""
    # "approval.completed" means little to a sentence model; words and the month do.
    line = f"Usage digest: {_words(event_type)} events in {_month_words(month)}."
    if uses:
        line += " Usage behind: " + "; ".join(uses) + "."
    return line


def _context(source_id: str, uses: MetricUses) -> str:
    match = DIGEST_ID.match(source_id)
    if match is None:
        return ""
    key = (match["account"], match["type"])
    return digest_context(match["type"], match["month"], uses.get(key, ()))


def indexed_hash(source_id: str, content_hash: str, uses: MetricUses) -> str:
    """The version of a source as indexed: its content, plus for a digest its context."""
    context = _context(source_id, uses)
    if not context:
        return content_hash
    return hashlib.sha256(f"{content_hash}|{context}".encode()).hexdigest()


def passages_for(row: SourceRow, uses: MetricUses | None = None) -> list[Passage]:
    """The chunks of one source as index passages."""
    spans = [(int(s["start"]), int(s["end"])) for s in (row.customer_spans or [])]
    meta = row.meta or {}
    body = meta.get("body_start") if row.kind == "note" else None
    extra: dict[str, str | int | float | bool] = {}
    context = ""
    if row.kind == "usage_digest":
        match = DIGEST_ID.match(row.id)
        if match is not None:
            extra = {"event_type": match["type"], "month": match["month"]}
        context = _context(row.id, uses or {})
    elif row.kind == "ticket_comment" and meta.get("ticket_subject"):
        # A reply ("confirmed, works now") is about its ticket's subject.
        context = f"Ticket: {meta['ticket_subject']}"
    return [
        Passage(
            source_id=row.id,
            n=n,
            account=row.account_id,
            kind=row.kind,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            date=row.date,
            customer=overlaps(spans, chunk.start, chunk.end),
            public=bool(row.public),
            extra=extra,
            context=context,
        )
        for n, chunk in enumerate(
            chunk_source(row.kind, row.text, body_offset=int(body) if body is not None else None)
        )
    ]


def _batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def sync_index(
    store: Store | None = None,
    index: HybridIndex | None = None,
    *,
    progress: Progress | None = None,
) -> IndexStats:
    """Index every source whose content changed since the last sync; drop vanished ones."""
    started = time.perf_counter()
    store = store or Store()
    index = index or open_index()
    stats = IndexStats()
    with store.session() as session:
        state = {
            sid: (digest, chunks)
            for sid, digest, chunks in session.execute(
                select(IndexStateRow.source_id, IndexStateRow.content_hash, IndexStateRow.chunks)
            )
        }
        uses = metric_uses(session)
        current = {
            sid: indexed_hash(sid, digest, uses)
            for sid, digest in session.execute(select(SourceRow.id, SourceRow.content_hash))
        }
        if state and index.vectors.count() == 0:
            # The index folder was deleted or the server switched: SQL still says "indexed",
            # but nothing is there, so start again rather than trust the bookkeeping.
            session.execute(delete(IndexStateRow))
            state = {}
    changed = sorted(sid for sid, digest in current.items() if state.get(sid, ("",))[0] != digest)
    removed = sorted(sid for sid in state if sid not in current)
    stats.unchanged = len(current) - len(changed)

    if removed:
        index.vectors.delete_ids(chunk_id(sid, n) for sid in removed for n in range(state[sid][1]))
        with store.session() as session:
            for group in _batches(removed, SOURCE_BATCH):
                session.execute(delete(IndexStateRow).where(IndexStateRow.source_id.in_(group)))
        stats.removed = len(removed)

    done = 0
    if progress:
        progress(0, len(changed))
    for group in _batches(changed, SOURCE_BATCH):
        passages: list[Passage] = []
        counts: dict[str, tuple[str, int]] = {}
        with store.session() as session:
            for row in session.scalars(select(SourceRow).where(SourceRow.id.in_(group))):
                chunks = passages_for(row, uses)
                passages.extend(chunks)
                counts[row.id] = (indexed_hash(row.id, row.content_hash, uses), len(chunks))
        # Embedding takes the time; no transaction stays open meanwhile.
        index.vectors.upsert(passages)
        # A source that shrank leaves chunks with higher numbers behind.
        stale = [
            chunk_id(sid, n)
            for sid, (_, n_new) in counts.items()
            for n in range(n_new, state.get(sid, ("", 0))[1])
        ]
        if stale:
            index.vectors.delete_ids(stale)
        with store.session() as session:
            session.execute(delete(IndexStateRow).where(IndexStateRow.source_id.in_(list(counts))))
            if counts:
                now = utcnow()
                session.execute(
                    insert(IndexStateRow),
                    [
                        {"source_id": sid, "content_hash": h, "chunks": n, "indexed_at": now}
                        for sid, (h, n) in counts.items()
                    ],
                )
        stats.sources += len(counts)
        stats.chunks += len(passages)
        done += len(group)
        if progress:
            progress(done, len(changed))
    stats.seconds = time.perf_counter() - started
    return stats


def index_ingested(
    store: Store,
    report: IngestReport,
    index: HybridIndex | None = None,
    *,
    progress: Progress | None = None,
) -> IndexStats:
    """Bring the vector index up to date after an ingest; record it on the ingest report."""
    timer = time.perf_counter()
    stats = sync_index(store, index, progress=progress)
    report.index = stats
    report.seconds["index"] = time.perf_counter() - timer
    return stats


def reindex(
    store: Store | None = None,
    index: HybridIndex | None = None,
    *,
    progress: Progress | None = None,
) -> IndexStats:
    """Drop the index and rebuild it from SQL (the index is derived; SQL is the truth)."""
    started = time.perf_counter()
    store = store or Store()
    index = index or open_index()
    index.vectors.reset()
    index.forget()
    with store.session() as session:
        session.execute(delete(IndexStateRow))
    stats = sync_index(store, index, progress=progress)
    stats.seconds = time.perf_counter() - started
    return stats


def _account_version(store: Store, account_id: str) -> str:
    with store.session() as session:
        rows = session.execute(
            select(SourceRow.id, SourceRow.content_hash)
            .where(SourceRow.account_id == account_id)
            .order_by(SourceRow.id)
        ).all()
        uses = metric_uses(session, account_id)
    return hashlib.sha256(repr((rows, sorted(uses.items()))).encode()).hexdigest()


def _account_passages(store: Store, account_id: str) -> list[Passage]:
    with store.session() as session:
        uses = metric_uses(session, account_id)
        rows = session.scalars(select(SourceRow).where(SourceRow.account_id == account_id))
        return [p for row in rows for p in passages_for(row, uses)]


def search(
    store: Store | None,
    account_id: str,
    query: str,
    *,
    kinds: Iterable[str] | None = None,
    customer: bool | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    k: int = 20,
    index: HybridIndex | None = None,
) -> list[Evidence]:
    """The ``k`` best passages of one account for ``query``, BM25 and vectors fused.

    ``kinds`` limits source kinds, ``customer`` True/False keeps only passages that do / do
    not overlap the customer's words, ``since`` (inclusive) and ``until`` (exclusive) bound
    the source date. Never returns another account's passages.
    """
    store = store or Store()
    index = index or open_index()
    filters = Filters(
        account=account_id,
        kinds=tuple(kinds) if kinds is not None else None,
        customer=customer,
        since=since,
        until=until,
    )
    corpus = index.corpus(
        account_id,
        _account_version(store, account_id),
        lambda: _account_passages(store, account_id),
    )
    return [
        Evidence(
            source_id=hit.passage.source_id,
            kind=hit.passage.kind,
            text=hit.passage.text,
            start=hit.passage.start,
            end=hit.passage.end,
            date=hit.passage.date,
            customer=hit.passage.customer,
            score=hit.score,
        )
        for hit in index.search(query, filters, k=k, corpus=corpus)
    ]


def describe(stats: IndexStats) -> dict[str, Any]:
    """Stats as plain data, for JSON output and logs."""
    return {
        "sources": stats.sources,
        "chunks": stats.chunks,
        "removed": stats.removed,
        "unchanged": stats.unchanged,
        "seconds": round(stats.seconds, 2),
    }
