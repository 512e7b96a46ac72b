"""A small Okapi BM25 over a list of passages: the lexical half of hybrid search.

Accounts hold hundreds to a few thousand passages, so an in-memory inverted index built on
demand is fast enough and keeps exact-term matches (ticket numbers, field names like
``approval.completed``) that embeddings blur.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an and are as at be but by for from has have in is it its of on or that the this to was "
    "were will with we our they them he she you your i me my not no do does did so than then "
    "there their what which who how when"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def stem(token: str) -> str:
    """A light English stemmer: enough to match 'approvals' with 'approval'."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)] + keep
    if token.endswith("s") and not token.endswith("ss") and len(token) > 3:
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75) with the non-negative idf of Lucene."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.size = len(documents)
        self._lengths: list[int] = []
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, document in enumerate(documents):
            counts = Counter(tokenize(document))
            self._lengths.append(sum(counts.values()))
            for term, count in counts.items():
                self._postings[term].append((index, count))
        self._average = (sum(self._lengths) / self.size) if self.size else 0.0

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (tokenized) term."""
        df = len(self._postings.get(term, ()))
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> dict[int, float]:
        """Score of every document that shares a term with ``query`` (others score 0)."""
        result: dict[int, float] = defaultdict(float)
        if not self.size:
            return result
        for term in set(tokenize(query)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for index, tf in postings:
                norm = 1.0 - self.b + self.b * self._lengths[index] / (self._average or 1.0)
                result[index] += idf * tf * (self.k1 + 1.0) / (tf + self.k1 * norm)
        return result

    def top(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best (index, score) pairs, optionally only among ``allowed`` indexes."""
        ranked = [(i, s) for i, s in self.scores(query).items() if allowed is None or i in allowed]
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))
        return ranked[:k]
