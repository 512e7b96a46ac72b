"""Hybrid search: BM25 and vector rankings fused by reciprocal rank (RRF).

Vectors find paraphrases ("closed the books faster"); BM25 finds exact terms (ticket numbers,
event types, names). RRF needs no score calibration between the two: each list contributes
``1 / (k + rank)`` per passage, and passages both lists like rise to the top.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrievers.chroma import ChromaIndex
from retrievers.lexical import BM25
from retrievers.passages import Filters, Passage

# The constant of Cormack et al. (2009); it damps the weight of the very first ranks.
RRF_K = 60


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank-fused score of every id in any ranking (rank 1 is best)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass
class Hit:
    """One search result; ``score`` is the fused RRF score."""

    passage: Passage
    score: float
    vector_rank: int | None = None
    lexical_rank: int | None = None


class LexicalCorpus:
    """BM25 over one account's passages."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        self.bm25 = BM25([p.search_text for p in self.passages])

    def search(self, query: str, filters: Filters, n: int) -> list[tuple[Passage, float]]:
        """The ``n`` best passages passing ``filters`` that share a term with the query."""
        allowed = {i for i, p in enumerate(self.passages) if filters.matches(p)}
        return [(self.passages[i], s) for i, s in self.bm25.top(query, n, allowed)]


class HybridIndex:
    """A Chroma index plus per-account BM25 corpora, cached by the account's content version."""

    def __init__(self, vectors: ChromaIndex, *, cache_size: int = 32) -> None:
        self.vectors = vectors
        self.cache_size = cache_size
        self._corpora: OrderedDict[str, tuple[str, LexicalCorpus]] = OrderedDict()

    def corpus(
        self, account: str, version: str, load: Callable[[], Sequence[Passage]]
    ) -> LexicalCorpus:
        """The account's BM25 corpus; ``load`` runs only when ``version`` changed."""
        cached = self._corpora.get(account)
        if cached is not None and cached[0] == version:
            self._corpora.move_to_end(account)
            return cached[1]
        corpus = LexicalCorpus(load())
        self._corpora[account] = (version, corpus)
        self._corpora.move_to_end(account)
        while len(self._corpora) > self.cache_size:
            self._corpora.popitem(last=False)
        return corpus

    def forget(self) -> None:
        """Drop every cached corpus (after a rebuild)."""
        self._corpora.clear()

    def search(
        self,
        query: str,
        filters: Filters,
        *,
        k: int = 20,
        corpus: LexicalCorpus | None = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query`` under ``filters``, best first."""
        depth = candidates or max(4 * k, 50)
        vector = self.vectors.query(query, filters, depth)
        lexical = corpus.search(query, filters, depth) if corpus is not None else []
        by_id: dict[str, Passage] = {}
        vector_ranks: dict[str, int] = {}
        lexical_ranks: dict[str, int] = {}
        for rank, (passage, _) in enumerate(vector, start=1):
            by_id.setdefault(passage.id, passage)
            vector_ranks[passage.id] = rank
        for rank, (passage, _) in enumerate(lexical, start=1):
            by_id.setdefault(passage.id, passage)
            lexical_ranks[passage.id] = rank
        fused = rrf([[p.id for p, _ in vector], [p.id for p, _ in lexical]])
        ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [
            Hit(by_id[key], score, vector_ranks.get(key), lexical_ranks.get(key))
            for key, score in ordered
            # Defence in depth: the filters already hold on both sides.
            if by_id[key].account == filters.account
        ]
