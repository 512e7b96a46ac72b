"""What every usage reader shares: the parsed event, its errors, times and numbers.

Pure functions: a record becomes a :data:`ParsedEvent` or an :class:`EventError` naming the
field at fault. The readers of each export shape live in :mod:`clerk.ingest.readers`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from clerk.domain.numeric import number_from_text

# orjson (a dependency) parses several times faster than json.
loads: Callable[[bytes], Any] = orjson.loads


# The account fields of one event, best first: the first that an account claims routes it.
Subject = str | tuple[str, ...]
# (source_id, subject, type, time as naive UTC, data)
ParsedEvent = tuple[str, Subject, str, dt.datetime, dict[str, Any]]

_UTC = dt.UTC


class EventError(ValueError):
    """A record that is not a usable event. ``field`` names what is wrong, when one is."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


# Epoch numbers at or above this are milliseconds: as seconds they would land after year 5000.
EPOCH_MS_FROM = 100_000_000_000
EARLIEST = dt.datetime(2000, 1, 1)
# Event times later than now + this are refused (clock skew of a day is tolerated).
FUTURE_SLACK = dt.timedelta(days=1)
_EPOCH_TEXT = re.compile(r"-?\d+(\.\d+)?")
_OFFSET_AND_Z = re.compile(r"[+-]\d\d:?\d\d[Zz]$")


def parse_time(value: Any, field: str) -> dt.datetime:
    """ISO 8601 text or unix epoch -> naive UTC. A time without offset is taken as UTC.

    Epoch numbers (JSON numbers or digit strings) are seconds, or milliseconds from
    ``EPOCH_MS_FROM`` up, recognised by magnitude. A string with both an offset and ``Z``
    (``...+02:00Z``) is refused: it names two offsets.
    """
    if isinstance(value, str):
        if value[4:5] == "-":  # the common case, ISO 8601: skip the timezone round trip
            zulu = value[-1:] == "Z"
            try:
                parsed = dt.datetime.fromisoformat(value[:-1] if zulu else value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    return parsed
                if zulu:
                    raise EventError(f"{field}: {value!r} has both an offset and Z", field)
        text = value.strip()
        # Digits are an epoch, never a compact ISO date ("1775121300000" is not 1775-12-13).
        if text[4:5] != "-" and _EPOCH_TEXT.fullmatch(text):
            return parse_time(float(text) if "." in text else int(text), field)
        if text[-1:] in ("Z", "z") and _OFFSET_AND_Z.search(text):
            raise EventError(f"{field}: {value!r} has both an offset and Z", field)
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise EventError(f"{field}: {value!r} is not an ISO 8601 time", field) from None
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(_UTC).replace(tzinfo=None)
            except OverflowError:
                raise EventError(f"{field}: {value!r} is out of range", field) from None
        return parsed
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= EPOCH_MS_FROM else value
        try:
            return dt.datetime.fromtimestamp(seconds, _UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise EventError(f"{field}: {value!r} is out of range for unix time", field) from None
    raise EventError(f"{field}: {value!r} is not a time", field)


class TimeWindow:
    """The times an event may carry: from 2000-01-01 to a day after the moment it was made.

    One window serves a whole file, so "now" is read once per file rather than per event.
    """

    def __init__(self, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(_UTC).replace(tzinfo=None)
        self.latest = now + FUTURE_SLACK

    def event_time(self, value: Any, field: str) -> dt.datetime:
        """:func:`parse_time`, refusing times before 2000 or more than a day ahead."""
        when = parse_time(value, field)
        if when < EARLIEST:
            raise EventError(
                f"{field}: {value!r} is {when:%Y-%m-%d}, before 2000 (not a plausible event time)",
                field,
            )
        if when > self.latest:
            raise EventError(
                f"{field}: {value!r} is {when:%Y-%m-%d %H:%M}, more than a day in the future",
                field,
            )
        return when


_WINDOW = TimeWindow()


def event_time(value: Any, field: str) -> dt.datetime:
    """An event's time (see :meth:`TimeWindow.event_time`), against a window set at import."""
    return _WINDOW.event_time(value, field)


def refresh_window() -> None:
    """Move "now" forward for a long-running process (called once per usage file)."""
    global _WINDOW
    _WINDOW = TimeWindow()


# --- numbers in text -------------------------------------------------------------------------

_NUMBER_START = frozenset("-0123456789")


def numbers_in_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its numeric-string values (top level) turned into numbers, in place."""
    for key, value in data.items():
        if type(value) is str and value[:1] in _NUMBER_START:  # cheap test first: hot path
            number = number_from_text(value)
            if number is not None:
                data[key] = number
    return data


def text_of(obj: dict[str, Any], field: str, label: str | None = None) -> str:
    """``obj[field]`` as non-empty text (integer ids become text); ``label`` names it in errors."""
    value = obj.get(field)
    if type(value) is str and value:
        return value
    name = label or field
    if value is None:
        raise EventError(f"missing field {name!r}", name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids are common in exports
    raise EventError(f"{name}: expected non-empty text, got {value!r}", name)


def data_of(value: Any, field: str) -> dict[str, Any]:
    """An event's data object (``None`` -> empty), its numeric strings made numbers."""
    if value is None:
        return {}
    if type(value) is dict:
        return numbers_in_data(value)
    raise EventError(f"{field}: expected an object, got {type(value).__name__}", field)


def missing(field: str) -> dt.datetime:
    raise EventError(f"missing field {field!r}", field)


def decode_error(raw: bytes) -> EventError:
    """Why one line is not JSON, in words (orjson's messages are terse)."""
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


def csv_value(text: str, decimal_comma: bool = False) -> Any:
    """CSV cell -> number (the numeric-string rule), bool or text.

    ``decimal_comma`` (files separated by ``;``, as European Excel writes them) also reads
    ``1250,50`` as 1250.5; thousands separators are never guessed.
    """
    number = number_from_text(text)
    if number is not None:
        return number
    if decimal_comma and "," in text:
        number = number_from_text(text.replace(",", ".", 1))
        if number is not None and "." in text.replace(",", ".", 1):
            return float(number)
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return text
