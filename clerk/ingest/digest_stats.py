"""Digest field statistics gathered while the events are inserted (issue 17), SQLite only.

The set-based statistics query (:func:`clerk.ingest.digests.compute_all_figures`) groups every
(month, field, value) in SQL; with a numeric field that has a distinct value per event that
group table is as large as the events, and it costs more than inserting them. The ingest has
every new event in hand anyway, so :class:`UsageStats` keeps, per (account, event type, month),
what the query would need: the numbers of each field (8 bytes a value) and the counts of each
text value (up to :data:`MAX_TEXT_VALUES` a field).

The figures must be exactly the ones SQL gives, bit for bit, so :meth:`UsageStats.fields`
reproduces SQLite's own arithmetic: values grouped by their SQLite text (``%!.15g`` for reals),
the groups summed in the order of the query's window (most frequent first, then by text), each
with SQLite's plain double ``sum()``. Whatever it cannot reproduce with certainty (a real of
more than 15 significant digits, whose text SQLite rounds its own way; -0.0, nested arrays or
objects, integers beyond 64 bits, too many distinct texts, a NUL in a text) makes that month
``None``: SQL computes it as before. A month whose stored events are not exactly the ones
counted here (events from an earlier run, or routed late) is also left to SQL by the caller.
A SQLite library that sums or writes reals otherwise (newer releases may compensate sums) is
found by :func:`arithmetic_matches`, and then nothing is gathered.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections import Counter
from collections.abc import Iterable
from functools import reduce
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # kept out of the import: worker processes use UsageStats.add only
    from sqlalchemy import Connection

    from clerk.ingest.digests import FieldStats, Touched

# Distinct text values kept per (month, field); beyond that the month goes to SQL, so a text
# field with a distinct value per event cannot grow memory with the events.
MAX_TEXT_VALUES = 5_000
_INT64 = 1 << 63


class _Field:
    __slots__ = ("floats", "ints", "texts")

    def __init__(self) -> None:
        self.floats: array[float] = array("d")
        self.ints: array[int] = array("q")
        self.texts: dict[str, int] = {}


class _Month:
    __slots__ = ("count", "fields", "exact")

    def __init__(self) -> None:
        self.count = 0
        self.fields: dict[str, _Field] = {}
        self.exact = True  # False: something here only SQL can compute exactly


# Values whose sum and text tell plain double sums and ``%!.15g`` from anything else.
_PROBE = (
    "SELECT (SELECT sum(x) FROM (SELECT 1e30 AS x UNION ALL SELECT 1.0 UNION ALL SELECT -1e30)),"
    " CAST(0.1 + 0.2 AS TEXT), CAST(1e30 AS TEXT), CAST(100.0 AS TEXT)"
)
_PROBE_ANSWER = (0.0, "0.3", "1.0e+30", "100.0")


def arithmetic_matches(conn: Connection) -> bool:
    """True when this SQLite library sums and writes reals the way this module reproduces."""
    return tuple(conn.exec_driver_sql(_PROBE).one()) == _PROBE_ANSWER


def sqlite_text(value: float) -> str | None:
    """A real as SQLite's ``CAST(x AS TEXT)`` writes it (``%!.15g``: ``1.0e+30``, ``12.5``,
    ``100.0``), or None when SQLite may not read and write it as Python does: more than 15
    significant digits (SQLite rounds ties its own way), infinities, NaN."""
    groups = _real_groups(array("d", [value]))
    return groups[0][0] if groups else None


def _point(text: str) -> str:
    """``%.15g`` text as SQLite's ``%!.15g`` writes it: always with a decimal point."""
    mantissa, e, exponent = text.partition("e")
    return mantissa + ".0" + e + exponent


def _repeat(value: float, count: int) -> float:
    total = value
    for _ in range(count - 1):  # SQLite adds a group's values one by one
        total += value
    return total


Group = tuple[str, int, int | float, bool, int]  # text, count, group sum, integer?, decimals


def _real_groups(floats: array[float]) -> list[Group] | None:
    """The reals of a field grouped as SQL groups them (by SQLite text), or None when SQLite
    may see them otherwise (see :func:`sqlite_text`, and -0.0)."""
    reals = Counter(floats)
    if not reals:
        return []
    if 0.0 in reals and any(math.copysign(1.0, v) < 0 for v in floats if not v):
        return None  # -0.0 and 0.0 are one key here, two values there
    values = list(reals)
    raw = list(map(format, values, repeat(".15g")))
    # Exactly the values back from 15 digits: no tie for SQLite to round otherwise (and no NaN).
    if list(map(float, raw)) != values or math.isinf(min(values)) or math.isinf(max(values)):
        return None
    texts = [t if "." in t else _point(t) for t in raw]
    if len(set(texts)) != len(texts):  # two reals SQLite writes alike: summed in scan order
        return None
    return [
        (t, c, v if c == 1 else _repeat(v, c), False, len(t) - t.find(".") - 1)
        for t, v, c in zip(texts, values, reals.values(), strict=True)
    ]


class UsageStats:
    """Per-month field statistics of the events this ingest inserted."""

    def __init__(self) -> None:
        self.months: dict[Touched, _Month] = {}
        self.figured: dict[Touched, list[dict[str, Any]] | None] = {}  # see take_figures

    def add(self, keys: list[Touched | None], datas: Iterable[Any]) -> None:
        """Count inserted events: the month of each (None: routed to no account) and its
        data. One loop over the batch with everything local: this runs once per event."""
        months = self.months
        for key, data in zip(keys, datas, strict=True):
            if key is None:
                continue
            try:  # the hit paths use no method call: this loop is most of the cost
                month = months[key]
            except KeyError:
                month = months[key] = _Month()
            month.count += 1
            if not month.exact or type(data) is not dict:  # SQL reads fields of objects only
                continue
            fields = month.fields
            for name, value in data.items():
                kind = type(value)
                if value is None:
                    continue
                try:
                    acc = fields[name]
                except KeyError:
                    acc = fields[name] = _Field()
                if kind is float:
                    acc.floats.append(value)
                elif kind is str or kind is bool:
                    texts = acc.texts
                    text = value if kind is str else ("true" if value else "false")
                    try:
                        texts[text] += 1
                    except KeyError:
                        texts[text] = 1
                        # SQLite's text functions stop at a NUL character; Python's do not.
                        if len(texts) > MAX_TEXT_VALUES or "\x00" in text:
                            self._give_up(month)
                            break
                elif kind is int and -_INT64 <= value < _INT64:
                    acc.ints.append(value)
                else:  # nested arrays and objects, huge integers
                    self._give_up(month)
                    break

    def __getstate__(self) -> list[tuple[Any, ...]]:
        """A compact form for the trip from a worker process: plain tuples and the arrays'
        bytes (pickling the small objects one by one cost more than reading the events)."""
        return [
            (
                key,
                month.count,
                month.exact,
                [
                    (name, acc.floats.tobytes(), acc.ints.tobytes(), acc.texts)
                    for name, acc in month.fields.items()
                ],
            )
            for key, month in self.months.items()
        ]

    def __setstate__(self, state: list[tuple[Any, ...]]) -> None:
        self.months = {}
        self.figured = {}
        self.merge_state(state)

    def merge(self, other: UsageStats, *, exact: bool = True) -> None:
        """Add what another gatherer counted: see :meth:`merge_state`."""
        self.merge_state(other.__getstate__(), exact=exact)

    def merge_state(self, state: list[tuple[Any, ...]], *, exact: bool = True) -> None:
        """Add what another gatherer counted (a worker process of a parallel ingest sends
        :meth:`__getstate__`): the same statistics as if its events had been added here,
        whatever the order (values are grouped and sorted before they are summed).
        ``exact`` False: some of its events were not inserted after all (duplicates), so its
        months are left to SQL."""
        months = self.months
        for key, count, theirs_exact, fields in state:
            month = months.get(key)
            if month is None:
                month = months[key] = _Month()
            month.count += count
            if not (exact and theirs_exact):
                self._give_up(month)
            if not month.exact:
                continue
            mine = month.fields
            for name, floats, ints, texts in fields:
                acc = mine.get(name)
                if acc is None:
                    acc = mine[name] = _Field()
                acc.floats.frombytes(floats)
                acc.ints.frombytes(ints)
                if not acc.texts:
                    acc.texts = dict(texts)
                    continue
                into = acc.texts
                for text, n in texts.items():
                    into[text] = into.get(text, 0) + n
                if len(into) > MAX_TEXT_VALUES:
                    self._give_up(month)
                    break

    @staticmethod
    def _give_up(month: _Month) -> None:
        month.exact = False
        month.fields = {}  # the memory goes back at once

    def count(self, key: Touched) -> int:
        """Events of the month counted here (0 for a month this ingest did not insert into)."""
        month = self.months.get(key)
        return month.count if month is not None else 0

    def fields(self, key: Touched) -> list[FieldStats] | None:
        """The month's field statistics exactly as the SQL query gives them, unsorted; None
        when only SQL can give them."""
        if key in self.figured:
            figured = self.figured[key]
            return None if figured is None else [_build(args) for args in figured]
        args = self.field_args(key)
        return None if args is None else [_build(a) for a in args]

    def field_args(self, key: Touched) -> list[dict[str, Any]] | None:
        """:meth:`fields` as plain keyword arguments (worker processes compute them)."""
        month = self.months.get(key)
        if month is None or not month.exact:
            return None
        out = []
        for name, acc in month.fields.items():
            args = _field_args(name, acc)
            if args is None:
                return None
            out.append(args)
        return out

    def take_figures(self, figured: dict[Touched, list[dict[str, Any]] | None]) -> None:
        """Field statistics computed elsewhere (worker processes) from this object's state
        (:meth:`__getstate__`) once no more events are added: :meth:`fields` returns them."""
        self.figured.update(figured)


def _by_frequency(groups: list[Any]) -> None:
    """Sort (text, count, ...) most frequent first, then by text: SQL's row_number order
    (ties by byte order there; the code-point order of str is the same, UTF-8)."""
    groups.sort(key=itemgetter(0))
    groups.sort(key=itemgetter(1), reverse=True)  # stable, even reversed


def _field_stats(name: str, acc: _Field) -> FieldStats | None:
    args = _field_args(name, acc)
    return None if args is None else _build(args)


def _build(args: dict[str, Any]) -> FieldStats:
    from clerk.ingest.digests import TOP_VALUES, FieldStats  # the store side: see the import

    if "top" in args:
        args = args | {"top": args["top"][:TOP_VALUES]}
    return FieldStats(**args)


def _field_args(name: str, acc: _Field) -> dict[str, Any] | None:
    """The FieldStats of a field as plain keyword arguments (every top value, most frequent
    first), or None when only SQL can compute them."""
    groups = _real_groups(acc.floats)
    if groups is None:
        return None
    reals = len(groups)
    for number, count in Counter(acc.ints).items():
        product = number * count
        if not -_INT64 <= product < _INT64:  # SQLite's integer sum overflows: left to SQL
            return None
        groups.append((str(number), count, product, True, 0))
    numbers = len(acc.floats) + len(acc.ints)
    n = numbers + sum(acc.texts.values())
    decimals = max(map(itemgetter(4), groups), default=0)
    distinct = len(groups) + len(acc.texts)
    if numbers != n:  # text values (or a mix): counts and the most frequent values
        top = [(text, count) for text, count, *_ in groups]
        if any(text in acc.texts for text, _ in top):  # text "5" and number 5: one group there
            return None
        top += acc.texts.items()
        _by_frequency(top)
        return {
            "name": name,
            "count": n,
            "numeric": False,
            "decimals": decimals,
            "distinct": distinct,
            "top": top,
        }
    # The window sum: groups in the row_number order.
    _by_frequency(groups)
    integral = not reals
    sums = list(map(itemgetter(2), groups))
    if len(groups) > reals:  # SQLite's integer sum fails on overflow, even beside reals
        exact = 0
        for group in groups:
            if group[3]:
                exact += int(group[2])
                if not -_INT64 <= exact < _INT64:
                    return None
    # Its double sum: every group added in order, plainly (sum() may compensate).
    total = float(sum(sums)) if integral else reduce(operator.add, map(float, sums), 0.0)
    low = min(min(acc.floats, default=float("inf")), min(acc.ints, default=_INT64))
    high = max(max(acc.floats, default=float("-inf")), max(acc.ints, default=-_INT64))
    return {
        "name": name,
        "count": n,
        "numeric": True,
        "sum": total,
        "min": float(low),
        "max": float(high),
        "integral": integral,
        "decimals": decimals,
        "distinct": distinct,
    }
