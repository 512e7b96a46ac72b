"""Retriever fixtures: one embedding model per test session, an index per Chroma mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrievers import ChromaIndex, HybridIndex, MiniLMEmbedder


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The bundled MiniLM, loaded once for the whole session."""
    model = MiniLMEmbedder()
    model.embed(["warm up"])
    return model


@pytest.fixture(params=["persistent", "server"])
def vectors(
    request: pytest.FixtureRequest, embedder: MiniLMEmbedder, tmp_path: Path
) -> Iterator[ChromaIndex]:
    """An empty Chroma index on a local folder, then on the Chroma server."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "persistent":
        index = ChromaIndex(embedder, path=tmp_path / "chroma", collection=name)
    else:
        url = request.getfixturevalue("chroma_server_url")
        index = ChromaIndex(embedder, url=url, collection=name)
    yield index
    index.reset()


@pytest.fixture
def hybrid(vectors: ChromaIndex) -> HybridIndex:
    return HybridIndex(vectors)
