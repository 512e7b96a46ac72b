"""Hybrid search over the fixture: recall, account isolation and filters, in both Chroma modes."""

from __future__ import annotations

import datetime as dt

import pytest

from retrievers import Filters, HybridIndex, LexicalCorpus
from tests.retrievers.passages_fixture import QUERIES, ROWS, passages, source_id

ACCOUNT_OF = {source_id(key): account for key, account, *_ in ROWS}


@pytest.fixture
def loaded(hybrid: HybridIndex) -> HybridIndex:
    hybrid.vectors.upsert(passages())
    return hybrid


def corpus(account: str) -> LexicalCorpus:
    return LexicalCorpus([p for p in passages() if p.account == account])


def recall_at(index: HybridIndex, k: int, *, lexical: bool = True, vector: bool = True) -> float:
    total = 0.0
    for account, query, relevant in QUERIES:
        filters = Filters(account)
        if vector:
            hits = index.search(query, filters, k=k, corpus=corpus(account) if lexical else None)
            found = {h.passage.source_id for h in hits}
        else:
            found = {p.source_id for p, _ in corpus(account).search(query, filters, k)}
        wanted = {source_id(key) for key in relevant}
        total += len(found & wanted) / len(wanted)
    return total / len(QUERIES)


def test_hybrid_recall_at_5(loaded: HybridIndex) -> None:
    hybrid = recall_at(loaded, 5)
    lexical = recall_at(loaded, 5, vector=False)
    vector = recall_at(loaded, 5, lexical=False)
    print(f"recall@5 hybrid {hybrid:.3f} vector {vector:.3f} bm25 {lexical:.3f}")
    # Each query was written for one to three of an account's ~16 passages; a random top 5
    # finds about 5/16 = 0.31 of them. Every answer shares meaning (and mostly words) with
    # its query, so a working search finds nearly all: 0.9 allows one miss in the 16 queries.
    assert hybrid >= 0.9
    # Fusion must not be worse than its better half.
    assert hybrid >= max(lexical, vector) - 1e-9


def test_results_never_cross_accounts(loaded: HybridIndex) -> None:
    for account, query, _ in QUERIES:
        hits = loaded.search(query, Filters(account), k=30, corpus=corpus(account))
        assert hits
        assert {ACCOUNT_OF[h.passage.source_id] for h in hits} == {account}
        assert {h.passage.account for h in hits} == {account}


def test_results_carry_offsets_scores_and_metadata(loaded: HybridIndex) -> None:
    hits = loaded.search(
        "invoice approvals in May", Filters("northwind"), k=3, corpus=corpus("northwind")
    )
    (top,) = [h for h in hits if h.passage.source_id == source_id("n5")]
    assert top.passage.kind == "usage_digest"
    assert top.passage.date == dt.datetime(2026, 5, 1)
    assert top.passage.text.startswith("Northwind Logistics, approval.completed, May 2026")
    assert (top.passage.start, top.passage.end) == (0, len(top.passage.text))
    assert top.vector_rank is not None and top.lexical_rank is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_kind_filter(loaded: HybridIndex) -> None:
    kinds = ("ticket", "ticket_comment")
    hits = loaded.search(
        "invoices", Filters("northwind", kinds=kinds), k=30, corpus=corpus("northwind")
    )
    # The vector side returns every passage that passes the filters (fewer than its depth).
    expected = {source_id(k) for k, a, kind, *_ in ROWS if a == "northwind" and kind in kinds}
    assert {h.passage.source_id for h in hits} == expected


def test_customer_filter(loaded: HybridIndex) -> None:
    for flag in (True, False):
        hits = loaded.search(
            "approval", Filters("globex", customer=flag), k=30, corpus=corpus("globex")
        )
        expected = {source_id(k) for k, a, _, _, c, _ in ROWS if a == "globex" and c is flag}
        assert {h.passage.source_id for h in hits} == expected


def test_date_filter_is_half_open(loaded: HybridIndex) -> None:
    filters = Filters("northwind", since=dt.date(2026, 5, 1), until=dt.datetime(2026, 6, 12))
    hits = loaded.search("books invoices login", filters, k=30, corpus=corpus("northwind"))
    got = {h.passage.source_id for h in hits}
    expected = {
        source_id(k)
        for k, a, _, d, _, _ in ROWS
        if a == "northwind" and dt.datetime(2026, 5, 1) <= d < dt.datetime(2026, 6, 12)
    }
    assert got == expected
    # The digest dated on the first day is in; the note of June 12th is not.
    assert source_id("n5") in got and source_id("n1") not in got


def test_upsert_replaces_and_delete_removes(loaded: HybridIndex) -> None:
    before = loaded.vectors.count()
    loaded.vectors.upsert(passages()[:3])
    assert loaded.vectors.count() == before
    loaded.vectors.delete_ids([passages()[0].id, "note:nobody/none.md::0"])
    assert loaded.vectors.count() == before - 1
    hits = loaded.search("close the books", Filters("northwind"), k=30)
    assert source_id("n1") not in {h.passage.source_id for h in hits}


def test_a_search_needs_an_account() -> None:
    with pytest.raises(ValueError):
        Filters("")
