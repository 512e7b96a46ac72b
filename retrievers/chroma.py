"""The vector half: passages and our own embeddings in a Chroma collection (cosine space).

A persistent client on a local folder by default; an HTTP client when given a server URL.
Chroma's default embedding function is never used: vectors always come from our embedder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from retrievers.embeddings import Embedder
from retrievers.passages import Filters, Passage

# Texts handed to the embedder per call: large enough that sentence-transformers can sort by
# length and pad little (the bare-encode ratio depends on it), small enough to bound memory.
EMBED_GROUP = 4096


def parse_server_url(url: str) -> tuple[str, int, bool]:
    """Host, port and ssl flag of ``http(s)://host[:port]``."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValueError(f"not a Chroma server URL: {url!r}")
    ssl = parsed.scheme == "https"
    return parsed.hostname, parsed.port or (443 if ssl else 8000), ssl


def make_client(path: Path | str | None = None, url: str | None = None) -> Any:
    """A Chroma client: HTTP when ``url`` is given, else persistent at ``path``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # Telemetry would phone home; the clerk works offline.
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        host, port, ssl = parse_server_url(url)
        return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
    folder = Path(path or ".clerk/chroma")
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=settings)


class ChromaIndex:
    """Passages in one Chroma collection, embedded by ``embedder``."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        path: Path | str | None = None,
        url: str | None = None,
        collection: str = "evidence",
    ) -> None:
        self.embedder = embedder
        self.path = path
        self.url = url
        self.collection_name = collection
        self._client: Any = None
        self._collection: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.path, self.url)
        return self._client

    @property
    def collection(self) -> Any:
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.collection_name,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        return self._collection

    def count(self) -> int:
        """Passages in the collection."""
        return int(self.collection.count())

    def upsert(self, passages: Sequence[Passage]) -> int:
        """Embed and store passages (same id = replaced). Returns how many."""
        limit = min(EMBED_GROUP, int(self.client.get_max_batch_size()))
        for first in range(0, len(passages), limit):
            group = passages[first : first + limit]
            vectors = self.embedder.embed([p.search_text for p in group])
            self.collection.upsert(
                ids=[p.id for p in group],
                embeddings=vectors,
                documents=[p.text for p in group],
                metadatas=[p.metadata() for p in group],
            )
        return len(passages)

    def delete_ids(self, ids: Iterable[str]) -> None:
        """Remove passages by chunk id (unknown ids are ignored)."""
        ids = list(ids)
        limit = int(self.client.get_max_batch_size())
        for first in range(0, len(ids), limit):
            self.collection.delete(ids=ids[first : first + limit])

    def reset(self) -> None:
        """Drop the collection and start empty."""
        from chromadb.errors import NotFoundError

        # A missing collection is what we want anyway; any other failure is the caller's.
        with contextlib.suppress(NotFoundError):
            self.client.delete_collection(self.collection_name)
        self._collection = None

    def query(self, text: str, filters: Filters, n: int) -> list[tuple[Passage, float]]:
        """The ``n`` nearest passages passing ``filters``, with cosine similarity."""
        if n <= 0:
            return []
        vector = self.embedder.embed([text])[0]
        found = self.collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=filters.where(),
            include=["documents", "metadatas", "distances"],
        )
        hits: list[tuple[Passage, float]] = []
        for doc, meta, distance in zip(
            found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
        ):
            hits.append((Passage.from_metadata(doc or "", dict(meta)), 1.0 - float(distance)))
        return hits
