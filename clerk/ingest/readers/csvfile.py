"""CSV usage files: a header row naming ``id, subject, type, time`` and any further columns.

As spreadsheets write them: a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped, the
separator is whichever of ``,``, ``;`` (European Excel) or tab the header uses most, and in a
``;`` file a decimal comma (``1250,50``) reads as a number. Header names match without regard
to case. Further columns become ``data`` fields by :func:`clerk.ingest.events.csv_value`.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import IO, Any

from clerk.domain.ids import event_source_id
from clerk.ingest.events import EventError, ParsedEvent, csv_value
from clerk.ingest.readers.base import ReadContext

REQUIRED = ("id", "subject", "type", "time")
SEPARATORS = (",", ";", "\t")
Row = tuple[int, ParsedEvent | EventError]


def separator(header: str) -> str:
    """The separator a header line uses most (a comma when it names one column)."""
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def looks_like_csv(head: bytes) -> bool:
    """A first line of text with a separator in it; binary files are not CSV."""
    line = head.split(b"\n", 1)[0]
    if b"\x00" in head[:4096]:
        return False
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return any(sep in text for sep in SEPARATORS)


class CsvTable:
    """A CSV stream's header and its rows as dicts (cells as text), with line numbers."""

    def __init__(self, raw: IO[bytes]) -> None:
        # surrogateescape lets one bad byte reject its row instead of aborting the file.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.text = text
        header_line = text.readline()
        self.separator = separator(header_line)
        self.reader = csv.reader(itertools.chain([header_line], text), delimiter=self.separator)
        self.error: EventError | None = None
        try:
            self.header = [h.strip() for h in next(self.reader)]
        except StopIteration:
            self.header = []
        except csv.Error as exc:
            self.header = []
            self.error = EventError(f"header is not valid CSV: {exc}")

    def release(self) -> None:
        """Let go of the byte stream without closing it (the caller still reads its position)."""
        self.text.detach()

    @property
    def label(self) -> str:
        return "CSV" if self.separator == "," else f"CSV ({self.separator!r}-separated)"

    def rows(self) -> Iterator[tuple[int, list[str] | EventError]]:
        width = len(self.header)
        reader = self.reader
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, EventError(f"not valid CSV: {exc}")
                continue
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                yield line, EventError(f"row has {len(row)} fields, the header has {width}")
                continue
            try:
                "".join(row).encode("utf-8")  # a lone surrogate is a byte that was not UTF-8
            except UnicodeEncodeError:
                yield line, EventError("not valid UTF-8")
                continue
            yield line, row

    def value(self, text: str) -> Any:
        return csv_value(text, decimal_comma=self.separator == ";")


def missing_columns(header: list[str]) -> list[str]:
    lowered = [h.lower() for h in header]
    return [name for name in REQUIRED if name not in lowered]


def events(table: CsvTable, ctx: ReadContext) -> Iterator[Row]:
    """(line, event or error) for every row of a CSV table with the required columns."""
    lowered = [h.lower() for h in table.header]
    index = {name: lowered.index(name) for name in REQUIRED}
    extra = [(i, name) for i, name in enumerate(table.header) if name and i not in index.values()]
    event_time = ctx.window.event_time
    for line, row in table.rows():
        if isinstance(row, EventError):
            yield line, row
            continue
        try:
            values = {name: row[i].strip() for name, i in index.items()}
            for name, value in values.items():
                if not value:
                    raise EventError(f"missing field {name!r}", name)
            data = {name: table.value(row[i]) for i, name in extra if row[i] != ""}
            yield (
                line,
                (
                    event_source_id("csv", values["id"]),
                    values["subject"],
                    values["type"],
                    event_time(values["time"], "time"),
                    data,
                ),
            )
        except EventError as exc:
            yield line, exc
