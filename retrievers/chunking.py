"""Split source texts into passages that keep their character offsets in the source.

A chunk is ``text[start:end]`` of the source it came from, never a rewritten copy, so a quote
found in a chunk can be located (and verified) in the source's full text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# MiniLM reads at most 256 word pieces (~1,000 characters of English); longer passages would be
# silently truncated by the model, so they are split before embedding.
MAX_CHARS = 1000
# A heading or a one-line paragraph says little on its own; it is joined to what follows.
MIN_CHARS = 60

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*\n", re.DOTALL)


@dataclass(frozen=True)
class Chunk:
    """One passage: ``source_text[start:end] == text``."""

    text: str
    start: int
    end: int


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans of the blank-line separated paragraphs of ``text[offset:]``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    cursor = offset
    for match in _PARAGRAPH_BREAK.finditer(text, offset):
        start, end = _trimmed(text, cursor, match.start())
        if end > start:
            spans.append((start, end))
        cursor = match.end()
    start, end = _trimmed(text, cursor, len(text))
    if end > start:
        spans.append((start, end))
    return spans


def split_long(
    text: str, start: int, end: int, max_chars: int = MAX_CHARS
) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into pieces of at most ``max_chars``.

    Cuts fall after a sentence end where one exists, else on whitespace, else hard.
    """
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = -1
        for match in _SENTENCE_END.finditer(text, start, limit):
            if match.start() > start:
                cut = match.start()
        if cut <= start:
            cut = text.rfind(" ", start + 1, limit)
        if cut <= start:
            cut = limit
        piece = _trimmed(text, start, cut)
        if piece[1] > piece[0]:
            pieces.append(piece)
        start = _trimmed(text, cut, end)[0]
    if end > start:
        pieces.append((start, end))
    return pieces


def _merge_short(spans: Sequence[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for span in spans:
        if pending is not None:
            if span[1] - pending[0] <= max_chars:
                span = (pending[0], span[1])
            else:
                merged.append(pending)
            pending = None
        if span[1] - span[0] < MIN_CHARS:
            pending = span
        else:
            merged.append(span)
    if pending is not None:
        if merged and pending[1] - merged[-1][0] <= max_chars:
            merged[-1] = (merged[-1][0], pending[1])
        else:
            merged.append(pending)
    return merged


def body_start(text: str) -> int:
    """Offset where a Markdown note's body begins (after YAML front matter, if any)."""
    match = _FRONT_MATTER.match(text)
    return match.end() if match else 0


def chunk_paragraphs(text: str, offset: int = 0, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """One chunk per paragraph of ``text[offset:]``; short ones joined, long ones split."""
    spans: list[tuple[int, int]] = []
    for start, end in _merge_short(paragraphs(text, offset), max_chars):
        spans.extend(split_long(text, start, end, max_chars))
    return [Chunk(text[s:e], s, e) for s, e in spans]


def chunk_whole(text: str, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """The whole text as one chunk (split only if too long for the model)."""
    start, end = _trimmed(text, 0, len(text))
    return [Chunk(text[s:e], s, e) for s, e in split_long(text, start, end, max_chars)]


def chunk_source(kind: str, text: str, *, body_offset: int | None = None) -> list[Chunk]:
    """Chunk a source by its kind.

    Notes and tickets (subject + description) go per paragraph, notes skipping their front
    matter; a ticket comment and a usage digest are one chunk each.
    """
    if kind == "note":
        offset = body_start(text) if body_offset is None else body_offset
        return chunk_paragraphs(text, offset)
    if kind == "ticket":
        return chunk_paragraphs(text)
    return chunk_whole(text)


def overlaps(spans: Iterable[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` shares at least one character with any of ``spans``."""
    return any(s < end and start < e for s, e in spans)
