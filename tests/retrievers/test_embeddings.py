"""The bundled MiniLM: offline, loaded once, 384-dimensional unit vectors that mean something."""

from __future__ import annotations

import math
import os

from retrievers import MiniLMEmbedder
from retrievers.embeddings import bundled_model_path


def test_bundled_model_embeds_offline(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(
        [
            "We closed the books in six days this month.",
            "Month-end close now takes less than a week.",
            "The mobile app crashes when I attach a receipt.",
        ]
    )
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    # Paraphrases are closer to each other than to an unrelated complaint.
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert os.path.isdir(bundled_model_path())


def test_model_is_loaded_once_per_process(embedder: MiniLMEmbedder) -> None:
    other = MiniLMEmbedder(batch_size=8)
    assert other.model is embedder.model
    assert other.embed([]) == []
