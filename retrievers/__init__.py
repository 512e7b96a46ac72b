"""Evidence retrieval: chunking, embeddings, a Chroma index, BM25 and hybrid search.

A leaf package: it never imports ``clerk``; the clerk hands it texts, metadata and settings.
"""

from retrievers.chroma import ChromaIndex, make_client, parse_server_url
from retrievers.chunking import Chunk, chunk_source, overlaps
from retrievers.embeddings import Embedder, MiniLMEmbedder
from retrievers.hybrid import Hit, HybridIndex, LexicalCorpus, rrf
from retrievers.lexical import BM25, tokenize
from retrievers.passages import Filters, Passage, chunk_id

__all__ = [
    "BM25",
    "ChromaIndex",
    "Chunk",
    "Embedder",
    "Filters",
    "Hit",
    "HybridIndex",
    "LexicalCorpus",
    "MiniLMEmbedder",
    "Passage",
    "chunk_id",
    "chunk_source",
    "make_client",
    "overlaps",
    "parse_server_url",
    "rrf",
    "tokenize",
]
