"""BM25, rank fusion, filters and the server URL: the pure parts of retrieval."""

from __future__ import annotations

import datetime as dt

import pytest

from retrievers import BM25, Filters, Passage, parse_server_url, rrf, tokenize


def test_tokenize_lowercases_stems_and_drops_stop_words() -> None:
    assert tokenize("The Approvals of approval.completed in May") == [
        "approval",
        "approval",
        "complet",
        "may",
    ]


def test_bm25_prefers_rare_terms_and_shorter_documents() -> None:
    docs = [
        "invoice approval approval invoice",
        "invoice sent to the customer",
        "approval",
        "weather report",
    ]
    bm25 = BM25(docs)
    ranked = [i for i, _ in bm25.top("approval", 10)]
    assert ranked == [2, 0]  # the short document with the term beats the long one
    assert bm25.top("nothing matches", 5) == []
    assert [i for i, _ in bm25.top("invoice weather", 10, allowed={1, 3})] == [3, 1]
    assert bm25.idf("weather") > bm25.idf("invoice")


def test_bm25_on_no_documents() -> None:
    assert BM25([]).top("anything", 3) == []


def test_rrf_rewards_agreement() -> None:
    scores = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(scores, key=lambda key: scores[key]) == "b"
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert set(scores) == {"a", "b", "c", "d"}


def test_filters_build_a_chroma_where_clause() -> None:
    assert Filters("acme").where() == {"account": "acme"}
    where = Filters(
        "acme", kinds=("note",), customer=True, since=dt.date(2026, 1, 1), until=dt.date(2026, 2, 1)
    ).where()
    assert where == {
        "$and": [
            {"account": "acme"},
            {"kind": {"$in": ["note"]}},
            {"customer": True},
            {"date": {"$gte": 1767225600}},
            {"date": {"$lt": 1769904000}},
        ]
    }


def test_filters_match_like_the_where_clause() -> None:
    passage = Passage("note:a/x.md", 0, "a", "note", "t", 0, 1, dt.datetime(2026, 1, 31, 23), True)
    assert Filters("a").matches(passage)
    assert not Filters("b").matches(passage)
    assert not Filters("a", kinds=("ticket",)).matches(passage)
    assert not Filters("a", customer=False).matches(passage)
    assert Filters("a", since=dt.date(2026, 1, 31), until=dt.date(2026, 2, 1)).matches(passage)
    assert not Filters("a", until=dt.datetime(2026, 1, 31, 23)).matches(passage)


def test_passage_metadata_round_trips() -> None:
    passage = Passage(
        "digest:a/x/2026-05",
        0,
        "a",
        "usage_digest",
        "text",
        0,
        4,
        dt.datetime(2026, 5, 1),
        False,
        extra={"month": "2026-05"},
        context="Usage digest",
    )
    assert Passage.from_metadata("text", passage.metadata()) == passage


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765", ("127.0.0.1", 8765, False)),
        ("https://chroma.example", ("chroma.example", 443, True)),
        ("http://chroma.internal", ("chroma.internal", 8000, False)),
        ("localhost:9000", ("localhost", 9000, False)),
    ],
)
def test_parse_server_url(url: str, expected: tuple[str, int, bool]) -> None:
    assert parse_server_url(url) == expected


def test_parse_server_url_rejects_other_schemes() -> None:
    with pytest.raises(ValueError):
        parse_server_url("ftp://chroma.example")
