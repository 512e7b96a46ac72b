"""From bytes on disk to records: compression, archives, JSON lines or one JSON document.

Detected from content, whatever the file is called: gzip by its magic bytes, zip by its
local-file header (each member read in name order, itself gzipped or not; Amplitude's export
is a zip of ``.json.gz`` files), then JSON (lines, or one document such as an OpenMeter
batch array or a Lago list export) or else CSV. Wrappers are taken off here, so shape
readers see bare events: a JSON array, ``{"events": [...]}`` (Lago body and list export),
``{"event": {...}}`` (Lago body, OpenMeter list item), ``{"items": [...]}`` and Stripe's
``{"object": "list", "data": [...]}``.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from clerk.ingest.events import EventError, decode_error, loads

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
# (line or None, where in a document such as "events[3]" or "", wrapper name or "", record)
Record = tuple[int | None, str, str, Any]


def streams(raw: IO[bytes], name: str) -> Iterator[tuple[str, IO[bytes]]]:
    """(name, decompressed stream) for a file: itself, its gzip content, or its zip members."""
    head = _peek(raw, 4)
    if head.startswith(GZIP_MAGIC):
        yield name, _buffered(gzip.GzipFile(fileobj=raw, mode="rb"))
        return
    if head.startswith(ZIP_MAGIC):
        with zipfile.ZipFile(raw) as archive:
            members = sorted(
                m.filename
                for m in archive.infolist()
                if not m.is_dir()
                and not m.filename.startswith("__MACOSX/")
                and not m.filename.rsplit("/", 1)[-1].startswith(".")
            )
            for member in members:
                with archive.open(member) as inner:
                    stream = _buffered(inner)
                    if _peek(stream, 2) == GZIP_MAGIC:
                        stream = _buffered(gzip.GzipFile(fileobj=stream, mode="rb"))
                    yield f"{name}/{member}", stream
        return
    yield name, raw


def _buffered(stream: Any) -> IO[bytes]:
    return io.BufferedReader(stream, buffer_size=1 << 16)


def _peek(stream: IO[bytes], size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    return b""  # pragma: no cover - every stream here is buffered


def first_byte(stream: IO[bytes]) -> bytes:
    """The first byte that is not whitespace or a byte-order mark (b"" for an empty head)."""
    head = _peek(stream, 4096)
    if head.startswith(BOM):
        head = head[3:]
    head = head.lstrip(_WHITESPACE)
    return head[:1]


def unwrap(obj: Any, where: str = "", wrapper: str = "") -> Iterator[tuple[str, str, Any]]:
    """(where, wrapper, record) for every event a decoded JSON value holds."""
    if type(obj) is list:
        inner = wrapper or "batch array"
        for i, item in enumerate(obj):
            yield from unwrap(item, f"{where}[{i}]", inner)
        return
    if type(obj) is dict:
        events = obj.get("events")
        if type(events) is list:
            inner = "list export" if "meta" in obj else "events body"
            for i, item in enumerate(events):
                yield from unwrap(item, f"{where}events[{i}]", inner)
            return
        event = obj.get("event")
        if type(event) is dict:
            if "ingestedAt" in obj or "storedAt" in obj:  # an OpenMeter list-events item
                inner = "list export"
            else:
                inner = wrapper or "event body"
            yield f"{where}.event" if where else "event", inner, event
            return
        items = obj.get("items")
        if type(items) is list:
            for i, item in enumerate(items):
                yield from unwrap(item, f"{where}items[{i}]", "list export")
            return
        if obj.get("object") == "list" and type(obj.get("data")) is list:
            for i, item in enumerate(obj["data"]):
                yield from unwrap(item, f"{where}data[{i}]", "list export")
            return
    yield where, wrapper, obj


def _plain(obj: Any) -> bool:
    """True for the common record that needs no unwrapping (kept cheap: the hot path)."""
    if type(obj) is not dict or "events" in obj or "items" in obj:
        return False
    event = obj.get("event")
    if event is not None and type(event) is dict:
        return False
    return "object" not in obj or obj["object"] != "list"


def json_records(stream: IO[bytes]) -> Iterator[Record | tuple[int | None, str, str, EventError]]:
    """Records of a JSON stream: JSON lines, or one (pretty-printed) JSON document."""
    first = stream.readline()
    if first.startswith(BOM):
        first = first[3:]
    number = 1
    while first and not first.strip():
        first = stream.readline()
        number += 1
    if not first:
        return
    try:
        obj = loads(first)
    except ValueError:
        rest = stream.read()
        try:
            whole = loads(first + rest)
        except ValueError:  # not one document either: report line by line
            lines = (first + rest).split(b"\n")
            yield from json_lines(iter(lines), number)
            return
        for where, wrapper, record in unwrap(whole):
            yield None, where, wrapper, record
        return
    if _plain(obj):
        yield number, "", "", obj
    else:
        for where, wrapper, record in unwrap(obj):
            yield number, where, wrapper, record
    yield from json_lines(stream, number + 1)


def json_lines(
    lines: Iterator[bytes] | IO[bytes], start: int
) -> Iterator[Record | tuple[int | None, str, str, EventError]]:
    """Records of JSON lines, the first numbered ``start`` (blank lines are skipped)."""
    for number, raw in enumerate(lines, start):
        try:
            obj = loads(raw)
        except ValueError:
            if raw.strip():
                yield number, "", "", decode_error(raw)
            continue
        if _plain(obj):
            yield number, "", "", obj
        else:
            for where, wrapper, record in unwrap(obj):
                yield number, where, wrapper, record
