"""Readers of usage exports, one small module per system, chosen from content.

:class:`UsageFile` reads one file of ``usage/``: it opens gzip and zip transparently
(:mod:`.framing`), tells JSON from CSV by the first byte, and gives each JSON record to the
first registered :class:`~.base.Shape` whose ``detect`` accepts it (the last shape that
matched is tried first, so a file of one system costs one check per record). A rule of
``usage/mapping.yaml`` (:mod:`.mapping`) replaces detection for the files it names. What the
file turned out to be is kept for the ingest summary (``Segment track calls, 1,204 events``);
a file of no known shape is *not understood*: a warning, not a reject per line.

To add a system: a module with ``detect`` and ``parse`` and a ``Shape`` in :data:`SHAPES`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from clerk.ingest.events import EventError, ParsedEvent
from clerk.ingest.readers import amplitude, cloudevents, csvfile, lago, mixpanel, segment, stripe
from clerk.ingest.readers.base import NotUsage, ReadContext, Shape
from clerk.ingest.readers.framing import first_byte, json_lines, json_records, streams
from clerk.ingest.readers.mapping import Rule

__all__ = ["SHAPES", "ReadContext", "Shape", "UsageFile", "classify"]

# Order matters only where shapes could overlap: the most specific keys first.
SHAPES: list[Shape] = [
    cloudevents.SHAPE,
    lago.SHAPE,
    stripe.SHAPE_V2,
    stripe.SHAPE_V1,
    segment.SHAPE,
    amplitude.SHAPE,
    mixpanel.SHAPE,
]
# Records looked at before a JSON file of no known shape is called not understood.
PEEK = 20
# Names that say what a file means to be when its content does not (its errors get reported).
CSV_NAMES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
JSON_NAMES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
# (file or archive member, line, event or error)
Item = tuple[str, int | None, ParsedEvent | EventError]


def classify(obj: Any) -> Shape | None:
    """The first registered shape that recognises a decoded record."""
    if type(obj) is not dict:
        return None
    return next((shape for shape in SHAPES if shape.detect(obj)), None)


def _keys(obj: Any) -> str:
    if type(obj) is not dict:
        return f"a JSON {type(obj).__name__}"
    names = list(obj)[:6]
    more = ", ..." if len(obj) > 6 else ""
    return "keys " + ", ".join(names) + more


def _many(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _where(exc: EventError, where: str) -> EventError:
    return EventError(f"{where}: {exc.reason}", exc.field) if where else exc


class UsageFile:
    """One usage file read to events, with what it turned out to hold."""

    def __init__(self, rel: str, ctx: ReadContext, rule: Rule | None = None) -> None:
        self.rel = rel
        self.ctx = ctx
        self.rule = rule
        self.shapes: Counter[str] = Counter()  # label -> events read
        self.left_out: Counter[str] = Counter()  # records of a known system that are not usage
        self.not_understood: list[str] = []  # why a file (or archive member) was not read
        # The shape of the last record read (an index in SHAPES), and for a piece read with
        # :meth:`continuation`: the shape its first record chose, and whether another shape
        # accepted that record too.
        self.last: int | None = None
        self.start_shape: int | None = None
        self.ambiguous = False
        self.reached = False  # a record of the piece chose a shape (or kept the given one)

    @property
    def understood(self) -> bool:
        return bool(self.shapes or self.left_out) or not self.not_understood

    def describe(self) -> str:
        """``Segment track calls, 1,204 events; 3 Segment identify calls left out``."""
        parts = [f"{label}, {_many(n, 'event')}" for label, n in self.shapes.most_common()]
        parts += [f"{_many(n, what)} left out" for what, n in self.left_out.most_common()]
        return "; ".join(parts) or "no events"

    def items(self, raw: IO[bytes]) -> Iterator[Item]:
        """Every event or error of the file, in order."""
        for name, stream in streams(raw, self.rel):
            first = first_byte(stream)
            if not first:
                continue
            if first in b"{[" or name.lower().endswith(JSON_NAMES):
                yield from self._json(name, stream)
            elif csvfile.looks_like_csv(stream.peek(4096)):  # type: ignore[attr-defined]
                yield from self._csv(name, stream)
            else:
                self.not_understood.append(f"{name}: neither JSON nor CSV text")

    def _json(self, name: str, stream: IO[bytes]) -> Iterator[Item]:
        records = json_records(stream)
        head = list(itertools.islice(records, PEEK))
        decoded = [r[3] for r in head if not isinstance(r[3], EventError)]
        if self.rule is None and decoded and not any(classify(obj) for obj in decoded):
            self.not_understood.append(
                f"{name}: JSON of no known usage shape ({_keys(decoded[0])}); "
                "name its fields in usage/mapping.yaml"
            )
            return
        yield from self._records(name, itertools.chain(head, records))

    def continuation(self, raw: IO[bytes], first_line: int, last: int | None) -> Iterator[Item]:
        """The events of a later piece of a JSON-lines file, read on its own (a parallel
        ingest splits a large file at line boundaries): ``raw`` starts at line ``first_line``;
        ``last`` is the index in :data:`SHAPES` of the shape the record before it had, when
        known (see :attr:`start_shape` for telling whether it mattered)."""
        self.last = last
        self.ambiguous = False
        yield from self._records(self.rel, json_lines(raw, first_line), continuation=True)

    def _records(
        self, name: str, records: Iterator[Any], *, continuation: bool = False
    ) -> Iterator[Item]:
        rule, ctx, shapes = self.rule, self.ctx, self.shapes
        last: Shape | None = None if self.last is None else SHAPES[self.last]
        first = continuation and not self.reached  # the first record that chooses a shape
        for line, where, wrapper, obj in records:
            if isinstance(obj, EventError):
                yield name, line, _where(obj, where)
                continue
            try:
                if rule is not None:
                    parsed = rule.parse(obj, ctx)
                    label = rule.label
                else:
                    if last is None or type(obj) is not dict or not last.detect(obj):
                        if first:
                            # A record two shapes accept takes the shape of the record
                            # before it when that one accepts it: unknown in a piece read
                            # on its own, so the caller is told to check.
                            self.ambiguous = type(obj) is dict and (
                                sum(1 for shape in SHAPES if shape.detect(obj)) > 1
                            )
                        last = classify(obj)
                        self.last = None if last is None else SHAPES.index(last)
                        if first:
                            self.start_shape = self.last
                            first = False
                            self.reached = True
                        if last is None:
                            raise EventError(f"unknown event shape ({_keys(obj)})")
                    elif first:  # the given shape accepted the record: nothing to check
                        first = False
                        self.reached = True
                    parsed = last.parse(obj, ctx)
                    label = last.label
            except EventError as exc:
                yield name, line, _where(exc, where)
                continue
            except NotUsage as skip:
                self.left_out[skip.what] += 1
                continue
            shapes[f"{label} ({wrapper})" if wrapper else label] += 1
            yield name, line, parsed

    def _csv(self, name: str, stream: IO[bytes]) -> Iterator[Item]:
        table = csvfile.CsvTable(stream)
        try:
            yield from self._table(name, table)
        finally:
            table.release()

    def _table(self, name: str, table: csvfile.CsvTable) -> Iterator[Item]:
        if table.error is not None:
            yield name, 1, table.error
            return
        if self.rule is not None:
            yield from self._mapped_csv(name, table, self.rule)
            return
        missing = csvfile.missing_columns(table.header)
        if missing:
            if not name.lower().endswith(CSV_NAMES):
                self.not_understood.append(
                    f"{name}: a table without id, subject, type, time columns; "
                    "name its columns in usage/mapping.yaml"
                )
                return
            reason = "header must name id, subject, type, time; missing: " + ", ".join(missing)
            yield name, 1, EventError(reason, missing[0])
            return
        label = table.label
        for line, parsed in csvfile.events(table, self.ctx):
            if not isinstance(parsed, EventError):
                self.shapes[label] += 1
            yield name, line, parsed

    def _mapped_csv(self, name: str, table: csvfile.CsvTable, rule: Rule) -> Iterator[Item]:
        used = {rule.id, rule.type, rule.time, *rule.subject}
        header = table.header
        for line, row in table.rows():
            if isinstance(row, EventError):
                yield name, line, row
                continue
            record = {h: table.value(cell) for h, cell in zip(header, row, strict=True) if cell}
            rest = {k: v for k, v in record.items() if k not in used}
            try:
                parsed = rule.parse(record, self.ctx, csv_rest=rest)
            except EventError as exc:
                yield name, line, exc
                continue
            self.shapes[rule.label] += 1
            yield name, line, parsed
