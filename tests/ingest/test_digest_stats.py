"""Digest statistics gathered while inserting (SQLite): the digests an ingest stores are the
ones the per-digest SQL rebuild gives, bit for bit, whether a month was summed in Python or
left to SQL."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from clerk.ingest import digest_stats, run_ingest
from clerk.ingest.digest_stats import UsageStats, arithmetic_matches, sqlite_text
from clerk.store import Store
from clerk.store.tables import SourceRow
from tests.ingest.digest_reference import compute_figures as reference_figures
from tests.ingest.digest_reference import reference_content_hash
from tests.ingest.helpers import add_account, write

TYPES = ("approval.completed", "report.exported")


def _data(rng: random.Random, n: int) -> dict[str, Any]:
    """Awkward data: decimals, huge numbers, mixed types, booleans, nulls, numeric text."""
    data: dict[str, Any] = {}
    if rng.random() < 0.8:
        data["amount"] = round(rng.uniform(0, 10_000), rng.choice((0, 1, 2, 3, 7)))
    if rng.random() < 0.3:
        data["huge"] = rng.choice((1e30, -1e30, 1.5e22, 123456789012345678, 0.1, 0.2))
    if rng.random() < 0.5:
        data["mode"] = rng.choice(("auto", "manual", "Auto", "ß", "02134", "true"))
    if rng.random() < 0.2:
        data["mixed"] = rng.choice((1, "one", True, 2.5, "2.5"))
    if rng.random() < 0.1:
        data["gone"] = None
    if rng.random() < 0.3:
        data["flag"] = rng.random() < 0.5
    if rng.random() < 0.2:
        data["seats"] = rng.choice((1, 2, 3, 10**15))
    if n % 499 == 0:  # SQLite writes these its own way: their months go to SQL
        data["odd"] = rng.choice((0.1 + 0.2, -0.0, [1, 2], {"a": 1}, 2**70))
    if n % 78 == 0:
        data["ref"] = f"r-{n}"  # a distinct text per event (acme, approval.completed)
    return data


def _events(rng: random.Random, count: int, first: int) -> list[dict[str, Any]]:
    events = []
    for n in range(first, first + count):
        when = dt.datetime(2025, 11, 1) + dt.timedelta(
            days=rng.randrange(150), seconds=rng.randrange(86400)
        )
        events.append(
            {
                "specversion": "1.0",
                "id": f"e-{n}",
                "source": "test",
                "type": TYPES[n % 2],
                "subject": ("acme", "globex", "nobody")[n % 3],
                "time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "data": _data(rng, n),
            }
        )
    return events


def _jsonl(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def _assert_digests_equal_the_reference(store: Store) -> int:
    with store.session() as session:
        rows = session.scalars(select(SourceRow).where(SourceRow.kind == "usage_digest")).all()
        for row in rows:
            meta = row.meta
            figures = reference_figures(
                session, meta["account_id"], meta["event_type"], meta["month"]
            )
            assert row.content_hash == reference_content_hash(figures), row.id
        return len(rows)


def test_ingested_digests_equal_the_per_digest_rebuild(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_stats, "MAX_TEXT_VALUES", 6)  # "ref" overflows it
    from_memory: list[bool] = []
    fields = UsageStats.fields

    def spy(self: UsageStats, key: Any) -> Any:
        got = fields(self, key)
        from_memory.append(got is not None)
        return got

    monkeypatch.setattr(UsageStats, "fields", spy)
    data = tmp_path / "data"
    add_account(data, "acme")
    add_account(data, "globex", org=2)
    rng = random.Random(17)
    first = _events(rng, 3000, 0)
    write(data / "usage" / "a.jsonl", _jsonl(first))
    report = run_ingest(data, store)
    assert report.counts["events"].new == 3000
    assert _assert_digests_equal_the_reference(store) == report.digests >= 20
    # Most months came from memory, and some (odd values, too many texts) from SQL (unless
    # this SQLite library sums otherwise: then every month comes from SQL).
    with store.engine.connect() as conn:
        if arithmetic_matches(conn):
            assert from_memory.count(True) > 10 and from_memory.count(False) > 0
        else:
            assert from_memory == []

    # A second file into the same months, with a few lines of the first again: these months
    # held events before, so SQL computes them; the digests still equal the reference.
    from_memory.clear()
    write(data / "usage" / "b.jsonl", _jsonl(first[:50] + _events(rng, 1000, 3000)))
    report = run_ingest(data, store)
    assert (report.counts["events"].new, report.counts["events"].duplicates) == (1000, 50)
    assert _assert_digests_equal_the_reference(store) >= 20
    assert not any(from_memory)


def test_sqlite_text_is_what_sqlite_writes() -> None:
    rng = random.Random(3)
    values = [1e30, -1e30, 1.5e22, 0.1, 1e-7, 100.0, 1234.5, 1e15, 1e16, 2.5e-5, 0.0]
    values += [round(rng.uniform(-1e4, 1e4), rng.choice((0, 2, 7))) for _ in range(2000)]
    values += [float(f"{rng.uniform(1, 10):.9f}e{rng.randint(-20, 30)}") for _ in range(2000)]
    long = [0.1 + 0.2, 1 / 3, 5670022572928235.0, float("inf"), float("nan")]
    with sqlite3.connect(":memory:") as conn:
        for value in values:
            (text,) = conn.execute(
                "SELECT CAST(value AS TEXT) FROM json_each(?)", (json.dumps([value]),)
            ).fetchone()
            assert sqlite_text(value) == text, value
    # More than 15 significant digits (SQLite may round them otherwise), or not finite.
    assert [sqlite_text(value) for value in long] == [None] * len(long)


def test_a_sqlite_that_sums_otherwise_gets_its_digests_from_sql(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A newer SQLite compensating its sums would answer the probe with 1.0, not 0.0.
    monkeypatch.setattr(digest_stats, "_PROBE_ANSWER", (1.0, "0.3", "1.0e+30", "100.0"))
    asked: list[Any] = []
    monkeypatch.setattr(UsageStats, "add", lambda self, *args: asked.append(args))
    data = tmp_path / "data"
    add_account(data, "acme")
    write(data / "usage" / "a.jsonl", _jsonl(_events(random.Random(5), 300, 0)))
    report = run_ingest(data, store)
    assert report.counts["events"].new == 300 and asked == []
    assert _assert_digests_equal_the_reference(store) == report.digests > 0


def test_statistics_gathered_in_parts_and_merged_equal_one_gatherer() -> None:
    """A parallel ingest gathers per piece in worker processes and merges in the ingest: the
    figures are those of one gatherer that saw every event, bit for bit, and a part whose
    events were not all inserted leaves its months to SQL."""
    rng = random.Random(5)
    keys = [("acme", TYPES[n % 2], f"2026-0{1 + n % 3}") for n in range(3000)]
    datas: list[Any] = [
        {
            "amount": round(rng.uniform(0, 10_000), rng.choice((0, 1, 2, 7))),
            "seats": rng.choice((1, 2, 3, 10**15)),
            "mode": rng.choice(("auto", "manual", "ß")),
            "flag": rng.random() < 0.5,
        }
        if n % 3 != 2
        else _data(rng, n)  # awkward values in March: months only SQL computes
        for n in range(3000)
    ]
    whole = UsageStats()
    whole.add(keys, datas)
    merged = UsageStats()
    for start in range(0, 3000, 700):
        part = UsageStats()
        part.add(keys[start : start + 700], datas[start : start + 700])
        merged.merge_state(pickle.loads(pickle.dumps(part)).__getstate__())
    assert set(merged.months) == set(whole.months)
    exact = 0
    for key in whole.months:
        assert merged.count(key) == whole.count(key)
        assert merged.fields(key) == whole.fields(key)
        exact += whole.fields(key) is not None
    assert exact  # some months were computed here, not all left to SQL

    partly = UsageStats()
    partly.merge_state(whole.__getstate__(), exact=False)
    assert all(partly.fields(key) is None for key in whole.months)
