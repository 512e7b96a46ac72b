"""Chunking keeps offsets: every chunk is exactly the source text between its start and end."""

from __future__ import annotations

import pytest

from retrievers.chunking import MAX_CHARS, body_start, chunk_source, overlaps, split_long

NOTE = """---
date: 2026-06-12
author: dana@vendor.example
kind: call
---
## Monthly check-in

Priya said "we closed the June books in six days, first time ever" and that the AP team no
longer works weekends at month end.


She wants a one-page summary she can take to Tom before budget season. Open question: Tom
has not seen any numbers since kickoff.
"""


def test_note_chunks_are_paragraphs_after_the_front_matter() -> None:
    chunks = chunk_source("note", NOTE)
    assert [NOTE[c.start : c.end] for c in chunks] == [c.text for c in chunks]
    # The heading is too short to stand alone and joins the paragraph after it.
    assert chunks[0].text.startswith("## Monthly check-in\n\nPriya said")
    assert chunks[0].text.endswith("at month end.")
    assert chunks[1].text.startswith("She wants") and chunks[1].text.endswith("kickoff.")
    assert len(chunks) == 2
    assert all("kind: call" not in c.text for c in chunks)
    assert body_start(NOTE) == NOTE.index("## Monthly")


def test_note_body_offset_from_meta_wins() -> None:
    text = "Intro line that is long enough to be a paragraph on its own, really.\n\nSecond part."
    chunks = chunk_source("note", text, body_offset=text.index("Second"))
    assert [c.text for c in chunks] == ["Second part."]


def test_comment_and_digest_are_one_chunk_each() -> None:
    text = "  First paragraph.\n\nSecond paragraph of the same comment.\n"
    for kind in ("ticket_comment", "usage_digest"):
        (chunk,) = chunk_source(kind, text)
        assert chunk.text == text[chunk.start : chunk.end] == text.strip()


def test_ticket_goes_per_paragraph() -> None:
    subject = "Approval workflow stuck for invoices above the CFO threshold amount"
    text = subject + "\n\n" + "Invoices over $10k stay pending. " * 3
    chunks = chunk_source("ticket", text)
    assert [c.text for c in chunks] == [subject, text[len(subject) + 2 :].strip()]


@pytest.mark.parametrize("length", [MAX_CHARS + 1, 3 * MAX_CHARS, 10 * MAX_CHARS + 7])
def test_long_comment_is_split_within_the_limit_on_sentence_ends(length: int) -> None:
    sentence = "The export failed again with a timeout on the large range. "
    text = (sentence * (length // len(sentence) + 1))[:length]
    chunks = chunk_source("ticket_comment", text)
    assert len(chunks) > 1
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert all(c.text.endswith(".") for c in chunks[:-1])
    # Nothing but whitespace is lost between chunks.
    covered = "".join(c.text for c in chunks).replace(" ", "")
    assert covered == text.replace(" ", "")


def test_split_without_spaces_cuts_hard() -> None:
    text = "x" * 2500
    assert split_long(text, 0, len(text), 1000) == [(0, 1000), (1000, 2000), (2000, 2500)]


@pytest.mark.parametrize(
    ("spans", "start", "end", "expected"),
    [
        ([(10, 20)], 0, 10, False),  # touching is not overlapping: end is exclusive
        ([(10, 20)], 0, 11, True),
        ([(10, 20)], 19, 40, True),
        ([(10, 20)], 20, 40, False),
        ([(10, 20), (50, 60)], 25, 55, True),
        ([], 0, 100, False),
    ],
)
def test_overlaps(spans: list[tuple[int, int]], start: int, end: int, expected: bool) -> None:
    assert overlaps(spans, start, end) is expected
