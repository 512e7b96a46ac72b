"""The SQL -> vector index bridge: incremental sync, rebuild from SQL, search as Evidence."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from clerk.retrieval import IndexStats, index_ingested, reindex, search, sync_index
from clerk.store import Store
from clerk.store.tables import IndexStateRow, SourceRow, UsageEventRow
from retrievers import ChromaIndex, HybridIndex, MiniLMEmbedder

NOTE = """---
date: 2026-06-12
author: dana@vendor.example
kind: call
---
Monthly check-in. Priya said "we closed the June books in six days, first time ever" and that
the AP team no longer works weekends at month end.

She wants a one-page summary she can take to Tom before budget season. Open question: Tom has
not seen any numbers since kickoff.
"""
QUOTE = "we closed the June books in six days, first time ever"


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The bundled model, loaded once per session (shared with tests/retrievers)."""
    return MiniLMEmbedder()


@pytest.fixture(params=["persistent", "server"])
def index(
    request: pytest.FixtureRequest, embedder: MiniLMEmbedder, tmp_path: Path
) -> Iterator[HybridIndex]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "persistent":
        vectors = ChromaIndex(embedder, path=tmp_path / "chroma", collection=name)
    else:
        url = request.getfixturevalue("chroma_server_url")
        vectors = ChromaIndex(embedder, url=url, collection=name)
    yield HybridIndex(vectors)
    vectors.reset()


def put_source(
    store: Store,
    source_id: str,
    account: str,
    kind: str,
    text: str,
    date: dt.datetime,
    spans: list[tuple[int, int]] = (),  # type: ignore[assignment]
    **meta: object,
) -> None:
    with store.session() as session:
        session.merge(
            SourceRow(
                id=source_id,
                account_id=account,
                kind=kind,
                text=text,
                date=date,
                customer_spans=[{"start": s, "end": e} for s, e in spans],
                meta=dict(meta),
                content_hash=str(hash(text)),
            )
        )


def seed(store: Store) -> None:
    start = NOTE.index(QUOTE)
    put_source(
        store,
        "note:northwind/2026-06-12-call.md",
        "northwind",
        "note",
        NOTE,
        dt.datetime(2026, 6, 12),
        [(start, start + len(QUOTE))],
        body_start=NOTE.index("Monthly"),
    )
    put_source(
        store,
        "ticket:1",
        "northwind",
        "ticket",
        "SSO login fails in Hamburg\n\nEvery user in the Hamburg office gets an error since Okta.",
        dt.datetime(2026, 5, 15),
        [(0, 80)],
    )
    comment = "The SAML certificate had expired; we rotated it and sign-in works again."
    put_source(
        store,
        "ticket:1#2",
        "northwind",
        "ticket_comment",
        comment,
        dt.datetime(2026, 5, 16),
        ticket_subject="SSO login fails in Hamburg",
    )
    # Another account with a near-identical note: it must never show up for northwind.
    put_source(
        store,
        "note:globex/call.md",
        "globex",
        "note",
        "Globex said they closed the June books in six days as well.",
        dt.datetime(2026, 6, 10),
    )


def test_sync_indexes_only_what_changed(store: Store, index: HybridIndex) -> None:
    seed(store)
    first = sync_index(store, index)
    assert (first.sources, first.chunks, first.removed) == (4, 5, 0)
    assert index.vectors.count() == 5

    again = sync_index(store, index)
    assert (again.sources, again.chunks, again.unchanged) == (0, 0, 4)

    # The note shrinks to one paragraph: re-indexed, and its second chunk disappears.
    short = NOTE.split("\n\nShe wants")[0] + "\n"
    put_source(
        store,
        "note:northwind/2026-06-12-call.md",
        "northwind",
        "note",
        short,
        dt.datetime(2026, 6, 12),
    )
    changed = sync_index(store, index)
    assert (changed.sources, changed.chunks) == (1, 1)
    assert index.vectors.count() == 4

    with store.session() as session:
        session.execute(delete(SourceRow).where(SourceRow.id == "ticket:1"))
    removed = sync_index(store, index)
    assert (removed.sources, removed.removed) == (0, 1)
    assert index.vectors.count() == 3
    hits = search(store, "northwind", "Hamburg office login error", kinds=["ticket"], index=index)
    assert hits == []


def test_reindex_rebuilds_everything_from_sql(store: Store, index: HybridIndex) -> None:
    seed(store)
    sync_index(store, index)
    stats = reindex(store, index)
    assert isinstance(stats, IndexStats)
    assert (stats.sources, stats.chunks) == (4, 5)
    assert index.vectors.count() == 5
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(IndexStateRow)) == 4

    # The index is lost (folder deleted, new server) while SQL still says "indexed":
    # the next sync notices and rebuilds instead of trusting its bookkeeping.
    index.vectors.reset()
    healed = sync_index(store, index)
    assert healed.sources == 4
    assert index.vectors.count() == 5


def test_search_returns_evidence_located_in_the_source(store: Store, index: HybridIndex) -> None:
    seed(store)
    sync_index(store, index)
    hits = search(store, "northwind", "how fast did they close the books", k=5, index=index)
    assert hits
    assert {h.source_id for h in hits} <= {
        "note:northwind/2026-06-12-call.md",
        "ticket:1",
        "ticket:1#2",
    }
    top = hits[0]
    assert top.source_id == "note:northwind/2026-06-12-call.md"
    assert NOTE[top.start : top.end] == top.text
    assert QUOTE in top.text
    assert top.customer is True
    assert top.date == dt.datetime(2026, 6, 12)
    assert top.score > 0
    other = next(h for h in hits if h.source_id == top.source_id and h.start != top.start)
    assert other.text.startswith("She wants") and other.customer is False


def test_search_filters(store: Store, index: HybridIndex) -> None:
    seed(store)
    sync_index(store, index)

    def ids(**filters: object) -> set[tuple[str, int]]:
        hits = search(store, "northwind", "login books summary", k=20, index=index, **filters)  # type: ignore[arg-type]
        return {(h.source_id, h.start) for h in hits}

    everything = ids()
    assert len(everything) == 4
    assert {s for s, _ in ids(kinds=["ticket_comment"])} == {"ticket:1#2"}
    customer = ids(customer=True)
    assert {s for s, _ in customer} == {"note:northwind/2026-06-12-call.md", "ticket:1"}
    assert ids(customer=False) == everything - customer
    may = ids(since=dt.date(2026, 5, 1), until=dt.date(2026, 6, 1))
    assert {s for s, _ in may} == {"ticket:1", "ticket:1#2"}
    assert ids(since=dt.datetime(2026, 5, 16)) == everything - {
        (s, o) for s, o in everything if s == "ticket:1"
    }


def test_search_on_postgres_too(any_store: Store, embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    index = HybridIndex(ChromaIndex(embedder, path=tmp_path / "chroma", collection="pg-or-sqlite"))
    seed(any_store)
    assert sync_index(any_store, index).sources == 4
    hits = search(any_store, "globex", "closed the books", index=index)
    assert [h.source_id for h in hits] == ["note:globex/call.md"]


def test_example_invoice_approvals_in_may_finds_the_digest(
    any_store: Store, example_dir: Path, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    from clerk.ingest import run_ingest

    index = HybridIndex(ChromaIndex(embedder, path=tmp_path / "chroma", collection="example"))
    report = run_ingest(example_dir, any_store)
    index_ingested(any_store, report, index)
    assert report.digests
    hits = search(any_store, "northwind", "invoice approvals in May", k=5, index=index)
    ids = [h.source_id for h in hits]
    assert "digest:northwind/approval.completed/2026-05" in ids[:3]
    digest = hits[ids.index("digest:northwind/approval.completed/2026-05")]
    assert digest.kind == "usage_digest" and digest.customer is False
    with any_store.session() as session:
        count = session.scalar(
            select(func.count()).where(
                UsageEventRow.account_id == "northwind",
                UsageEventRow.type == "approval.completed",
                UsageEventRow.time >= dt.datetime(2026, 5, 1),
                UsageEventRow.time < dt.datetime(2026, 6, 1),
            )
        )
        auto = session.scalars(
            select(UsageEventRow.data).where(
                UsageEventRow.account_id == "northwind",
                UsageEventRow.type == "approval.completed",
                UsageEventRow.time >= dt.datetime(2026, 5, 1),
                UsageEventRow.time < dt.datetime(2026, 6, 1),
            )
        ).all()
    assert count
    assert f"May 2026: {count:,} events" in digest.text
    n_auto = sum(1 for data in auto if data.get("mode") == "auto")
    assert f"auto {n_auto:,}" in digest.text

    # A second ingest of the same folder rebuilds no digest and indexes nothing.
    second = run_ingest(example_dir, any_store)
    index_ingested(any_store, second, index)
    assert not second.digests
    assert second.index is not None and second.index.sources == 0
