"""Index benchmark: `clerk reindex` of N generated chunks against a bare encode, and digests.

    python -m evals.bench_index --chunks 20000 --events 200000

1. Generates N ticket comments (one chunk each) into a fresh SQLite store and times
   ``clerk.retrieval.reindex`` (SQL -> chunks -> MiniLM -> Chroma). In the same run it times a
   bare ``SentenceTransformer.encode`` of the very same texts with the same batch size, and
   prints both rates and their ratio (goal >= 0.8). The two are timed alternately so the load
   of a shared machine falls on both.
2. Generates usage events over accounts, event types and months and times
   ``rebuild_all_digests`` (digests built per second) and one touched month.

Not a test: it prints figures (and ``--json`` writes them as one JSON line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from clerk.ingest.digests import rebuild_all_digests, rebuild_digests
from clerk.retrieval import reindex
from clerk.store import Store
from clerk.store.tables import AccountRow, SourceRow, UsageEventRow
from evals import load
from retrievers import ChromaIndex, HybridIndex, MiniLMEmbedder

_VOCABULARY = (
    "invoice approval workflow queue supplier payment export report login sso dashboard "
    "month close books team finance controller threshold rule release fix timeout mobile "
    "receipt audit trail renewal budget sponsor training automation manual hours weekend "
    "error slow fast confirmed thanks escalation priority customer vendor integration sync"
)
WORDS = _VOCABULARY.split()


def sentences(rng: random.Random, n: int) -> list[str]:
    """``n`` comment-like texts of 1-6 sentences (about 60-600 characters)."""
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 6)):
            words = rng.choices(WORDS, k=rng.randint(6, 16))
            parts.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(parts))
    return out


def seed_sources(store: Store, texts: Sequence[str]) -> None:
    """One ticket comment per text, spread over ten accounts."""
    base = dt.datetime(2026, 1, 1)
    rows = [
        {
            "id": f"ticket:{i // 4}#{i}",
            "account_id": f"acct-{i % 10}",
            "kind": "ticket_comment",
            "title": "",
            "text": text,
            "date": base + dt.timedelta(hours=i),
            "author": None,
            "public": True,
            "customer_spans": [{"start": 0, "end": len(text)}] if i % 2 else [],
            "meta": {"ticket_subject": f"Ticket {i // 4}"},
            "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        }
        for i, text in enumerate(texts)
    ]
    with store.session() as session:
        for first in range(0, len(rows), 5000):
            session.execute(insert(SourceRow), rows[first : first + 5000])


def bench_index(chunks: int, batch_size: int, workdir: Path, seed: int = 1) -> dict[str, Any]:
    """Index build rate vs bare encode of the same texts, same model, same batch size."""
    rng = random.Random(seed)
    texts = sentences(rng, chunks)
    store = Store(f"sqlite:///{workdir / 'index.db'}")
    seed_sources(store, texts)
    embedder = MiniLMEmbedder(batch_size=batch_size)
    model = embedder.model
    model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up: first call pays setup
    # What the index embeds for a comment: its ticket subject line, then the text.
    embedded = [f"Ticket: Ticket {i // 4}\n{t}" for i, t in enumerate(texts)]

    bare_seconds: list[float] = []
    index_seconds: list[float] = []
    stats = None
    for round_ in range(2):
        started = time.perf_counter()
        model.encode(embedded, batch_size=batch_size, normalize_embeddings=True)
        bare_seconds.append(time.perf_counter() - started)
        index = HybridIndex(
            ChromaIndex(embedder, path=workdir / f"chroma-{round_}", collection="bench")
        )
        started = time.perf_counter()
        stats = reindex(store, index)
        index_seconds.append(time.perf_counter() - started)
    store.close()
    assert stats is not None and stats.chunks == chunks
    bare = chunks / min(bare_seconds)
    indexed = chunks / min(index_seconds)
    return {
        "chunks": chunks,
        "batch_size": batch_size,
        "bare_encode_chunks_per_s": round(bare, 1),
        "index_chunks_per_s": round(indexed, 1),
        "index_vs_bare_encode": round(indexed / bare, 3),
        "bare_seconds": [round(s, 2) for s in bare_seconds],
        "index_seconds": [round(s, 2) for s in index_seconds],
    }


def seed_events(store: Store, events: int, accounts: int, types: int, rng: random.Random) -> None:
    """``events`` usage events over a year, spread over accounts and event types."""
    with store.session() as session:
        for a in range(accounts):
            session.add(AccountRow(id=f"acct-{a}", name=f"Account {a}", data={}, content_hash="x"))
    start = dt.datetime(2026, 1, 1)
    batch: list[dict[str, Any]] = []
    for n in range(events):
        batch.append(
            {
                "source_id": f"event:bench/{n}",
                "account_id": f"acct-{n % accounts}",
                "subject": f"acct-{n % accounts}",
                "type": f"type.{rng.randrange(types)}",
                "time": start + dt.timedelta(seconds=rng.randrange(365 * 86400)),
                "data": {
                    "amount": round(rng.uniform(1, 10_000), 2),
                    "seats": rng.randrange(1, 100),
                    "mode": rng.choice(["auto", "manual"]),
                    "approver": f"u-{rng.randrange(60):02d}",
                    "urgent": rng.random() < 0.2,
                },
            }
        )
        if len(batch) == 5000:
            with store.session() as session:
                session.execute(insert(UsageEventRow), batch)
            batch = []
    if batch:
        with store.session() as session:
            session.execute(insert(UsageEventRow), batch)


def bench_digests(events: int, workdir: Path, seed: int = 2) -> dict[str, Any]:
    """Digests built per second over a year of generated events."""
    rng = random.Random(seed)
    accounts, types = 10, 3
    store = Store(f"sqlite:///{workdir / 'digests.db'}")
    seed_events(store, events, accounts, types, rng)
    started = time.perf_counter()
    with store.session() as session:
        built = rebuild_all_digests(session)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    with store.session() as session:
        touched = rebuild_digests(session, {("acct-0", "type.0", "2026-05")})
    one = time.perf_counter() - started
    store.close()
    return {
        "events": events,
        "digests": built,
        "digest_seconds": round(seconds, 2),
        "digests_per_s": round(built / seconds, 1),
        "events_per_digest": round(events / max(built, 1)),
        "one_touched_month_ms": round(one * 1000, 1),
        "one_touched_month_rebuilt": touched,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m evals.bench_index", description=__doc__)
    parser.add_argument("--chunks", type=int, default=5000, help="Generated chunks to index.")
    parser.add_argument("--events", type=int, default=100_000, help="Generated usage events.")
    parser.add_argument("--batch-size", type=int, default=64, help="Embedding batch size.")
    parser.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON line.")
    args = parser.parse_args(argv)
    watch = load.start("index")
    with tempfile.TemporaryDirectory(prefix="clerk-bench-index-") as tmp:
        workdir = Path(tmp)
        figures = {
            "index": bench_index(args.chunks, args.batch_size, workdir),
            "digests": bench_digests(args.events, workdir),
        }
    if args.as_json:
        print(json.dumps(figures))
        return load.finish(watch, figures["index"]["index_vs_bare_encode"] >= 0.8)
    index, digests = figures["index"], figures["digests"]
    print(f"index build: {index['chunks']:,} chunks, batch {index['batch_size']}")
    print(f"  bare SentenceTransformer.encode: {index['bare_encode_chunks_per_s']:,.1f} chunks/s")
    print(f"  clerk reindex (SQL -> Chroma):   {index['index_chunks_per_s']:,.1f} chunks/s")
    print(f"  ratio to bare encode: {index['index_vs_bare_encode']:.3f} (goal >= 0.8)")
    print(f"usage digests: {digests['events']:,} events -> {digests['digests']:,} digests")
    print(
        f"  rebuild all: {digests['digest_seconds']:.2f} s = {digests['digests_per_s']:,.1f} "
        f"digests/s (~{digests['events_per_digest']:,} events each)"
    )
    print(
        f"  one touched month: {digests['one_touched_month_ms']:.1f} ms "
        f"({digests['one_touched_month_rebuilt']} digests: the month and the one after)"
    )
    return load.finish(watch, index["index_vs_bare_encode"] >= 0.8)


if __name__ == "__main__":
    raise SystemExit(main())
