"""Which outcome a customer's sentence is about: its title's words, its aliases, and meaning.

Three ways, any one enough, always next to the value-binding and stance rules of
clerk.domain.stance (a sentence is proof only when those pass too):

- keywords: a stem of the outcome's title in the clause holding the value;
- aliases: every word of one of the outcome's ``aliases:`` (the customer's own phrases);
- meaning: the bundled all-MiniLM-L6-v2 embeddings (retrievers.MiniLMEmbedder, offline):
  the sentence is closer to this outcome (title and aliases) than ``SEMANTIC_MIN`` and
  closer to it than to every other outcome of the account by ``SEMANTIC_MARGIN``. What
  comes before a colon ("Quick update from our side: ...") is a preamble, not the
  statement, and is left out (``meaning_text``).

The same meaning decides whether the words after a number name the outcome's measure in
other words ("84 points on the survey" for "Customer satisfaction score") or another
measure ("25 hours on expense reports" for contract review): ``same_measure``.

Outcome texts are embedded once per process, candidate sentences in one batch per call,
and every vector is cached. When the model cannot be loaded (the package is missing, no
torch) matching falls back to keywords and aliases; nothing needs a network or a server.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from clerk.domain.models import Outcome
from clerk.domain.stance import unit_forms
from clerk.domain.textnum import numbers_in
from clerk.drafting.signals import keyword_hits, outcome_keywords, stem

__all__ = [
    "MEASURE_PULL",
    "SEMANTIC_MARGIN",
    "SEMANTIC_MIN",
    "OutcomeMatcher",
    "meaning_text",
    "set_embedder",
]

SEMANTIC_MIN = 0.40
SEMANTIC_MARGIN = 0.08
# How much closer to the outcome the sentence must be with the words after its number than
# without them, for those words to count as the outcome's measure named in other words.
MEASURE_PULL = 0.02
_CACHE_LIMIT = 50_000
# Words that say nothing about what was measured.
_FILLER = {
    "a", "an", "the", "it", "its", "it's", "we", "we're", "us", "our", "i", "is", "are",
    "was", "were", "be", "been", "to", "at", "in", "on", "of", "for", "and", "or", "but",
    "now", "just", "only", "about", "around", "roughly", "nearly", "almost", "down", "up",
    "took", "takes", "take", "total", "this", "that", "time", "so", "far", "still", "got",
    "get", "then", "there", "today", "currently", "quarter", "month", "week", "year",
}  # fmt: skip

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, Any] = {"embedder": None, "tried": False}
_vectors: dict[str, list[float]] = {}


def set_embedder(embedder: Any) -> None:
    """Use ``embedder`` (anything with ``embed(texts)``), or None for keywords only."""
    with _lock:
        _state["embedder"], _state["tried"] = embedder, True
        _vectors.clear()


def _embedder() -> Any:
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            try:
                from retrievers.embeddings import MiniLMEmbedder, bundled_model_path

                bundled_model_path()  # fails fast when the weights package is missing
                _state["embedder"] = MiniLMEmbedder()
            except Exception as exc:  # noqa: BLE001 - any failure means: keywords only
                log.warning("outcome matching without embeddings: %s", exc)
                _state["embedder"] = None
        return _state["embedder"]


def embed(texts: Sequence[str]) -> list[list[float]] | None:
    """Vectors for ``texts`` (cached), or None when no embedder is available."""
    embedder = _embedder()
    if embedder is None:
        return None
    missing = list(dict.fromkeys(t for t in texts if t not in _vectors))
    if missing:
        try:
            fresh = embedder.embed(missing)
        except Exception as exc:  # noqa: BLE001 - a model failure must not stop a sweep
            log.warning("embedding failed, matching by keywords only: %s", exc)
            set_embedder(None)
            return None
        with _lock:
            if len(_vectors) + len(missing) > _CACHE_LIMIT:
                _vectors.clear()
            _vectors.update(zip(missing, fresh, strict=True))
    return [_vectors[t] for t in texts]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


def meaning_text(text: str, at: int | None = None) -> str:
    """The part of a sentence its meaning is read from: after the last colon before
    position ``at`` (the value), so a preamble ("Quick update from our side:") does not
    dilute the statement; numbers in digits, so "eighty-one" and "81" mean the same."""
    head = text if at is None else text[:at]
    cut = head.rfind(": ")
    if cut >= 0 and text[cut + 2 :].strip():
        text = text[cut + 2 :]
    return _digits(text)


def _digits(text: str) -> str:
    """``text`` with every number written in digits (the value, not its spelling, is read)."""
    out, last = [], 0
    for m in numbers_in(text):
        if re.search(r"[A-Za-z]", m.text) and not (m.unit or "").isupper():
            digits = format(m.value, "g") + (" percent" if m.unit == "%" else "")
            out += [text[last : m.start], digits]
            last = m.end
    return "".join([*out, text[last:]])


def outcome_texts(outcome: Outcome) -> list[str]:
    """What an outcome is called: its title and each alias."""
    return [outcome.title, *[a for a in outcome.aliases if a.strip()]]


class OutcomeMatcher:
    """Ties customer sentences to one outcome among the account's outcomes."""

    def __init__(self, outcome: Outcome, siblings: Sequence[Outcome] = ()) -> None:
        self.outcome = outcome
        self.siblings = [o for o in siblings if o.id != outcome.id]
        self.keywords = outcome_keywords(outcome)
        self.alias_stems = [
            {stem(w) for w in alias.replace("-", " ").split() if w.strip()}
            for alias in outcome.aliases
        ]
        self.alias_stems = [s for s in self.alias_stems if s]
        self._topic = (
            set(self.keywords).union(*self.alias_stems) if self.alias_stems else set(self.keywords)
        )

    @property
    def is_topic(self) -> Callable[[str], bool]:
        """Whether a word names this outcome's measure (a title or alias word)."""
        topic = self._topic
        return lambda word: stem(word) in topic

    def keyword_hits(self, text: str) -> int:
        return keyword_hits(text, self.keywords)

    def alias(self, text: str) -> str | None:
        """The alias every word of which occurs in ``text``, if any."""
        words = {stem(w) for w in text.replace("-", " ").split()}
        words |= {stem(w.strip(".,;:!?\"'()")) for w in text.replace("-", " ").split()}
        for phrase, stems in zip(self.outcome.aliases, self.alias_stems, strict=False):
            if stems and stems <= words:
                return phrase
        return None

    def loses_to_sibling(self, text: str) -> Outcome | None:
        """A sibling of the same unit whose title words the text hits more often."""
        mine = self.keyword_hits(text)
        for other in self.siblings:
            if other.unit.strip().lower() != self.outcome.unit.strip().lower():
                continue
            if keyword_hits(text, outcome_keywords(other)) > mine:
                return other
        return None

    def _closeness(self, texts: Sequence[str]) -> list[tuple[float, float]] | None:
        """(to this outcome, to the nearest sibling) for each text; None without embedder."""
        mine = outcome_texts(self.outcome)
        others = [t for o in self.siblings for t in outcome_texts(o)]
        vectors = embed([*mine, *others, *texts])
        if vectors is None:
            return None
        mine_v = vectors[: len(mine)]
        other_v = vectors[len(mine) : len(mine) + len(others)]
        text_v = vectors[len(mine) + len(others) :]
        return [
            (
                max(_cosine(v, m) for m in mine_v),
                max((_cosine(v, o) for o in other_v), default=-1.0),
            )
            for v in text_v
        ]

    def semantic(self, texts: Sequence[str]) -> list[float] | None:
        """For each text, how much closer it is to this outcome than the threshold and every
        sibling allow: > 0 means a match by meaning. None without an embedder."""
        if not texts:
            return []
        close = self._closeness(texts)
        if close is None:
            return None
        return [
            min(best - SEMANTIC_MIN, best - rival - SEMANTIC_MARGIN)
            if self._names_something(text)
            else -1.0
            for text, (best, rival) in zip(texts, close, strict=True)
        ]

    def _names_something(self, text: str) -> bool:
        """True when ``text`` has two words besides its numbers, the outcome's unit and
        filler: "6 hours" or "just 6 hours now" is close to "Hours saved on contract
        review" by its unit alone, which says nothing about what was measured."""
        for m in numbers_in(text):
            text = text[: m.start] + " " * (m.end - m.start) + text[m.end :]
        unit = unit_forms(self.outcome.unit)
        words = [
            w
            for w in re.findall(r"[A-Za-z]+", text.lower())
            if w not in unit and w not in _FILLER and len(w) > 1
        ]
        return len(words) >= 2

    def same_measure(self, text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]``, the words after a number ("on the survey"), name this
        outcome's measure in other words. By meaning, all three: the sentence matches the
        outcome (see ``semantic``); it is closer to the outcome with those words than without
        them by ``MEASURE_PULL`` (they pull towards it, where "on expense reports" pulls
        away from contract review); and the words are closer to this outcome than to every
        sibling. Without an embedder: False, so the number stays another measure's."""
        if not 0 <= start < end <= len(text):
            return False
        head = text[:start]
        cut = head.rfind(": ")
        head = head[cut + 2 :] if cut >= 0 else head
        before, phrase, after = _digits(head), text[start:end], _digits(text[end:])
        focus = before + phrase + after
        without = " ".join((before + " " + after).split())
        close = self._closeness([focus, without, phrase])
        if close is None:
            return False
        (full, rival), (bare, _), (words, words_rival) = close
        return (
            full - SEMANTIC_MIN > 0
            and full - rival - SEMANTIC_MARGIN > 0
            and full - bare >= MEASURE_PULL
            and words > words_rival
        )
