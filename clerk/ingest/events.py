"""Usage events in the shapes CS teams export: CloudEvents 1.0, Lago and CSV.

Pure parsing, line by line: each record becomes a :data:`ParsedEvent` or an
:class:`EventError` naming the field at fault. Nothing here touches the store, and nothing
reads a whole file into memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

try:  # orjson comes with chromadb; it parses several times faster than json
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    orjson = None  # type: ignore[assignment]

    def _loads(raw: bytes) -> Any:
        return json.loads(raw.decode("utf-8"))


# (source_id, subject, type, time as naive UTC, data)
ParsedEvent = tuple[str, str, str, dt.datetime, dict[str, Any]]

CSV_REQUIRED = ("id", "subject", "type", "time")
_UTC = dt.UTC
_INT = re.compile(r"-?(0|[1-9]\d*)")
_FLOAT = re.compile(r"-?(0|[1-9]\d*)?\.\d+([eE][-+]?\d+)?|-?(0|[1-9]\d*)[eE][-+]?\d+")


class EventError(ValueError):
    """A record that is not a usable event. ``field`` names what is wrong, when one is."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def parse_time(value: Any, field: str) -> dt.datetime:
    """ISO 8601 text or unix seconds -> naive UTC. A time without offset is taken as UTC."""
    if isinstance(value, str):
        if value[-1:] == "Z":  # the common case: skip the timezone round trip
            try:
                return dt.datetime.fromisoformat(value[:-1])
            except ValueError:
                pass
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                return parse_time(float(text), field)
            except (ValueError, EventError):
                raise EventError(f"{field}: {value!r} is not an ISO 8601 time", field) from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(_UTC).replace(tzinfo=None)
        return parsed
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, _UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise EventError(
                f"{field}: {value!r} is out of range for unix seconds", field
            ) from None
    raise EventError(f"{field}: {value!r} is not a time", field)


def _text(obj: dict[str, Any], field: str) -> str:
    value = obj.get(field)
    if type(value) is str and value:
        return value
    if value is None:
        raise EventError(f"missing field {field!r}", field)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids are common in exports
    if not isinstance(value, str) or not value:
        raise EventError(f"{field}: expected non-empty text, got {value!r}", field)
    return value


def _data(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise EventError(f"{field}: expected an object, got {type(value).__name__}", field)


def normalize(obj: Any) -> ParsedEvent:
    """One decoded JSON value (CloudEvents or Lago) -> a normalised event."""
    if not isinstance(obj, dict):
        raise EventError(f"expected a JSON object, got {type(obj).__name__}")
    if "transaction_id" in obj:
        subject_field = "external_customer_id"
        if obj.get(subject_field) is None and obj.get("external_subscription_id") is not None:
            subject_field = "external_subscription_id"
        return (
            "event:lago/" + _text(obj, "transaction_id"),
            _text(obj, subject_field),
            _text(obj, "code"),
            parse_time(obj["timestamp"], "timestamp")
            if "timestamp" in obj
            else _missing("timestamp"),
            _data(obj.get("properties"), "properties"),
        )
    if "specversion" in obj or ("source" in obj and "type" in obj):
        get = obj.get
        source, ident, subject, kind, data = (
            get("source"),
            get("id"),
            get("subject"),
            get("type"),
            get("data"),
        )
        if (  # fast path for the well-formed event; anything else gets a precise error below
            type(source) is str
            and source
            and type(ident) is str
            and ident
            and type(subject) is str
            and subject
            and type(kind) is str
            and kind
            and type(data) is dict
            and "time" in obj
        ):
            return (f"event:{source}/{ident}", subject, kind, parse_time(obj["time"], "time"), data)
        return (
            f"event:{_text(obj, 'source')}/{_text(obj, 'id')}",
            _text(obj, "subject"),
            _text(obj, "type"),
            parse_time(obj["time"], "time") if "time" in obj else _missing("time"),
            _data(obj.get("data"), "data"),
        )
    raise EventError(
        "unknown event shape: neither CloudEvents (specversion) nor Lago (transaction_id)"
    )


def _missing(field: str) -> dt.datetime:
    raise EventError(f"missing field {field!r}", field)


def iter_jsonl(fh: BinaryIO) -> Iterator[tuple[int, ParsedEvent | EventError]]:
    """(1-based line number, event or error) for every non-blank line of a JSONL file."""
    for number, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        try:
            obj = _loads(raw)
        except ValueError:
            yield number, _decode_error(raw)
            continue
        try:
            yield number, normalize(obj)
        except EventError as exc:
            yield number, exc


def _decode_error(raw: bytes) -> EventError:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return EventError(f"not valid UTF-8 (byte {exc.start + 1} of the line)")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return EventError(f"malformed JSON: {exc.msg} at column {exc.colno}")
    except ValueError as exc:  # e.g. an integer too large for orjson but fine for json
        return EventError(f"malformed JSON: {exc}")
    return EventError("malformed JSON (a value this parser cannot represent)")


def csv_value(text: str) -> Any:
    """CSV cell -> int, float, bool or text. Codes with leading zeros stay text."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return text


def iter_csv(raw: BinaryIO) -> Iterator[tuple[int, ParsedEvent | EventError]]:
    """(line number, event or error) for every row of a CSV file with a header."""
    # surrogateescape lets one bad byte reject its row instead of aborting the file.
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        yield from _csv_rows(csv.reader(text))
    finally:
        # A wrapper closes its buffer when collected: detach it, so the caller's file stays
        # open for the progress bar's last tell() (a >= 1 MiB CSV crashed there).
        text.detach()


def _csv_rows(reader: Any) -> Iterator[tuple[int, ParsedEvent | EventError]]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, EventError(f"header is not valid CSV: {exc}")
        return
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        reason = "header must name id, subject, type, time; missing: " + ", ".join(missing)
        yield 1, EventError(reason, missing[0])
        return
    index = {name: header.index(name) for name in CSV_REQUIRED}
    extra = [(i, name) for i, name in enumerate(header) if name and name not in CSV_REQUIRED]
    width = len(header)
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
        try:
            values = {name: row[i].strip() for name, i in index.items()}
            for name, value in values.items():
                if not value:
                    raise EventError(f"missing field {name!r}", name)
            data = {name: csv_value(row[i]) for i, name in extra if row[i] != ""}
            yield (
                line,
                (
                    "event:csv/" + values["id"],
                    values["subject"],
                    values["type"],
                    parse_time(values["time"], "time"),
                    data,
                ),
            )
        except EventError as exc:
            yield line, exc


def event_reader(
    path: Path,
) -> Callable[[BinaryIO], Iterator[tuple[int, ParsedEvent | EventError]]]:
    """The parser for a usage file by its extension (.jsonl/.ndjson/.json or .csv)."""
    return iter_csv if path.suffix.lower() == ".csv" else iter_jsonl
