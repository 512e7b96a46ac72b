"""Reading a ticket file: plain or gzip-compressed, UTF-8 with or without a byte-order mark."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
# Suffixes in tickets/ that are read; ``.gz`` holds any of the others.
TICKET_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")


class FileError(ValueError):
    """A file that cannot be read as text at all."""


def read_text(path: Path) -> str:
    """The file's text. Gzip is recognised by its magic bytes, not by the name; a UTF-8
    byte-order mark (as Windows tools write) is dropped. Raises :class:`FileError`."""
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileError(f"not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(f"not valid UTF-8 (byte {exc.start + 1})") from None


def inner_name(path: Path) -> str:
    """The file name without a trailing ``.gz``: ``ticket-5-comments.json.gz`` ->
    ``ticket-5-comments.json``."""
    name = path.name
    return name[:-3] if name.lower().endswith(".gz") else name
