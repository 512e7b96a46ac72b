"""Usage digests: exact figures from SQL, readable text, only touched months rebuilt."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from clerk.domain.format import fixed
from clerk.domain.ids import digest_source_id
from clerk.ingest.digests import (
    DigestFigures,
    FieldStats,
    all_months,
    compute_all_figures,
    digest_row,
    rebuild_all_digests,
    rebuild_digests,
    render_digest,
    shift_month,
)
from clerk.store import Store
from clerk.store.tables import AccountRow, SourceRow, UsageEventRow

TYPE = "approval.completed"


def add_account(store: Store, account_id: str = "acme", name: str = "Acme Corp") -> None:
    with store.session() as session:
        session.add(AccountRow(id=account_id, name=name, data={}, content_hash="x"))


def add_events(store: Store, events: list[tuple[str, str, dt.datetime, dict[str, Any]]]) -> None:
    """Insert (account, type, time, data) events with unique ids."""
    with store.session() as session:
        start = session.query(UsageEventRow).count()
        for n, (account, event_type, time, data) in enumerate(events, start=start):
            session.add(
                UsageEventRow(
                    source_id=f"event:test/{n}",
                    account_id=account,
                    subject=account,
                    type=event_type,
                    time=time,
                    data=data,
                )
            )


def digest(store: Store, account: str, month: str, event_type: str = TYPE) -> SourceRow | None:
    with store.session() as session:
        return session.get(SourceRow, digest_source_id(account, event_type, month))


APRIL = [
    {"amount": 100.50, "units": 1, "mode": "auto", "urgent": True},
    {"amount": 200.25, "units": 2, "mode": "auto", "urgent": False},
    {"amount": 300.00, "units": 3, "mode": "manual", "urgent": False},
    {"amount": 50.10, "units": 4, "mode": "auto", "urgent": False},
]
MAY = [
    {"amount": 1000.10, "units": 5, "mode": "auto", "urgent": True, "approver": "u-1", "ref": "A"},
    {"amount": 2000.20, "units": 5, "mode": "manual", "urgent": True, "approver": "u-2"},
    {"amount": 0.05, "units": 5, "mode": "auto", "urgent": False, "approver": "u-1", "ref": None},
    {"amount": 10.00, "units": 5, "mode": "auto", "urgent": True, "approver": "u-3", "ref": "A"},
    {"amount": 1234.56, "units": 5, "mode": "manual", "urgent": True, "approver": "u-4"},
]
MAY_TEXT = (
    "Acme Corp, approval.completed, May 2026: 5 events (+25.0% vs April 2026). "
    "amount: sum 4,244.91, min 0.05, max 2,000.20. units: sum 25, min 5, max 5. "
    "ref (in 2 events): 1 distinct — A 2. mode: 2 distinct — auto 3, manual 2. "
    "urgent: 2 distinct — true 4, false 1. approver: 4 distinct — u-1 2, u-2 1, u-3 1."
)


def seed_april_may(store: Store) -> None:
    add_account(store)
    events = [("acme", TYPE, dt.datetime(2026, 4, 1 + i, 9), d) for i, d in enumerate(APRIL)]
    events += [("acme", TYPE, dt.datetime(2026, 5, 2 + i, 10), d) for i, d in enumerate(MAY)]
    # Boundaries: midnight of June 1st belongs to June, the last second of May to May.
    events += [("acme", TYPE, dt.datetime(2026, 6, 1), {"amount": 5.0})]
    events += [("other", TYPE, dt.datetime(2026, 5, 3), {"amount": 99.0})]
    add_events(store, events)


def test_digest_text_for_numeric_string_and_boolean_fields(any_store: Store) -> None:
    seed_april_may(any_store)
    with any_store.session() as session:
        rebuilt = rebuild_digests(session, {("acme", TYPE, "2026-05")})
    # May, and June because June's change is measured against May.
    assert rebuilt == 2
    may = digest(any_store, "acme", "2026-05")
    assert may is not None
    assert may.text == MAY_TEXT
    assert may.kind == "usage_digest"
    assert may.account_id == "acme"
    assert may.date == dt.datetime(2026, 5, 1)
    assert may.customer_spans == []
    assert may.meta["count"] == 5 and may.meta["previous_count"] == 4
    june = digest(any_store, "acme", "2026-06")
    assert june is not None
    assert june.text.startswith("Acme Corp, approval.completed, June 2026: 1 event (-80.0% vs May")
    # April was not touched, so it was not built.
    assert digest(any_store, "acme", "2026-04") is None


def test_first_month_says_there_is_nothing_to_compare(store: Store) -> None:
    seed_april_may(store)
    with store.session() as session:
        rebuild_digests(session, {("acme", TYPE, "2026-04")})
    april = digest(store, "acme", "2026-04")
    assert april is not None
    assert april.text.startswith(
        "Acme Corp, approval.completed, April 2026: 4 events (none in March 2026). "
        "amount: sum 650.85, min 50.10, max 300.00. units: sum 10, min 1, max 4. "
        "mode: 2 distinct — auto 3, manual 1. urgent: 2 distinct — false 3, true 1."
    )


def test_only_touched_months_are_rebuilt(store: Store) -> None:
    seed_april_may(store)
    with store.session() as session:
        rebuild_digests(session, {("acme", TYPE, "2026-04"), ("acme", TYPE, "2026-05")})
    before = digest(store, "acme", "2026-05")
    assert before is not None
    with store.session() as session:
        assert rebuild_digests(session, set()) == 0
    # Rebuilding an unchanged month writes nothing: the row is not touched.
    with store.session() as session:
        rebuild_digests(session, {("acme", TYPE, "2026-05")})
    after = digest(store, "acme", "2026-05")
    assert after is not None
    assert (after.content_hash, after.updated_at) == (before.content_hash, before.updated_at)

    # A new April event changes April and, through the comparison, May.
    add_events(store, [("acme", TYPE, dt.datetime(2026, 4, 30, 23, 59), {"amount": 1.0})])
    with store.session() as session:
        assert rebuild_digests(session, {("acme", TYPE, "2026-04")}) == 2
    may = digest(store, "acme", "2026-05")
    assert may is not None
    assert "5 events (+0.0% vs April 2026)" in may.text
    assert may.content_hash != before.content_hash


def test_rebuild_all_recreates_and_drops_stale_digests(store: Store) -> None:
    seed_april_may(store)
    with store.session() as session:
        session.add(
            SourceRow(
                id=digest_source_id("acme", "gone.type", "2025-01"),
                account_id="acme",
                kind="usage_digest",
                text="old",
                date=dt.datetime(2025, 1, 1),
                content_hash="old",
            )
        )
    with store.session() as session:
        assert rebuild_all_digests(session) == 4  # acme Apr, May, Jun; other May
    with store.session() as session:
        ids = set(session.scalars(select(SourceRow.id).where(SourceRow.kind == "usage_digest")))
    assert ids == {
        digest_source_id("acme", TYPE, "2026-04"),
        digest_source_id("acme", TYPE, "2026-05"),
        digest_source_id("acme", TYPE, "2026-06"),
        digest_source_id("other", TYPE, "2026-05"),
    }
    other = digest(store, "other", "2026-05")
    assert other is not None
    # No account row: the digest names the account by its id.
    assert other.text.startswith("other, approval.completed, May 2026: 1 event")


def _expected(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    fields: dict[str, list[Any]] = {}
    for data in rows:
        for key, value in data.items():
            if value is not None:
                fields.setdefault(key, []).append(value)
    out: dict[str, dict[str, Any]] = {}
    for key, values in fields.items():
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            out[key] = {
                "count": len(values),
                "sum": sum(values),
                "min": min(values),
                "max": max(values),
            }
        else:
            texts = Counter(
                ("true" if v else "false") if isinstance(v, bool) else str(v) for v in values
            )
            top = sorted(texts.items(), key=lambda item: (-item[1], item[0]))[:3]
            out[key] = {"count": len(values), "distinct": len(texts), "top": [list(t) for t in top]}
    return out


def test_figures_match_sql_on_generated_events(any_store: Store) -> None:
    rng = random.Random(7)
    add_account(any_store, "gen", "Generated Inc")
    events = []
    for _ in range(600):
        time = dt.datetime(2026, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 120))
        data: dict[str, Any] = {
            "amount": round(rng.uniform(1, 10_000), 2),
            "seats": rng.randrange(1, 50),
            "plan": rng.choice(["basic", "pro", "enterprise", "trial", "legacy"]),
            "trial": rng.random() < 0.3,
        }
        if rng.random() < 0.5:
            data["region"] = rng.choice(["eu", "us", "apac"])
        events.append(("gen", rng.choice([TYPE, "invoice.created"]), time, data))
    add_events(any_store, events)
    with any_store.session() as session:
        built = rebuild_all_digests(session)
    assert built == 8  # two types x January..April

    with any_store.session() as session:
        raw = session.execute(
            select(UsageEventRow.type, UsageEventRow.time, UsageEventRow.data).where(
                UsageEventRow.account_id == "gen"
            )
        ).all()
    for event_type in (TYPE, "invoice.created"):
        for month in ("2026-01", "2026-02", "2026-03", "2026-04"):
            rows = [d for t, when, d in raw if t == event_type and f"{when:%Y-%m}" == month]
            previous = [
                d
                for t, when, d in raw
                if t == event_type and f"{when:%Y-%m}" == shift_month(month, -1)
            ]
            row = digest(any_store, "gen", month, event_type)
            assert row is not None
            assert row.meta["count"] == len(rows)
            assert row.meta["previous_count"] == len(previous)
            assert f": {len(rows):,} events" in row.text
            for key, want in _expected(rows).items():
                got = row.meta["fields"][key]
                assert got["count"] == want["count"], key
                if "sum" in want:
                    assert got["sum"] == pytest.approx(want["sum"], abs=1e-6)
                    assert (got["min"], got["max"]) == (want["min"], want["max"])
                    places = 0 if key == "seats" else 2
                    assert f"sum {fixed(want['sum'], places)}," in row.text
                else:
                    assert got["distinct"] == want["distinct"]
                    assert got["top"] == want["top"], key


def test_render_is_a_pure_function_of_the_figures() -> None:
    figures = DigestFigures(
        account_id="n",
        account_name="Northwind Logistics",
        event_type=TYPE,
        month="2026-05",
        count=1734,
        previous_count=1543,
        fields=[
            FieldStats("amount", 1734, True, 9123456.78, 101.2, 9998.0, decimals=2),
            FieldStats("mode", 1734, False, distinct=2, top=[("auto", 1600), ("manual", 134)]),
        ],
    )
    assert render_digest(figures) == (
        "Northwind Logistics, approval.completed, May 2026: 1,734 events (+12.4% vs April 2026). "
        "amount: sum 9,123,456.78, min 101.20, max 9,998.00. "
        "mode: 2 distinct — auto 1,600, manual 134."
    )


def _odd_events(rng: random.Random) -> list[tuple[str, str, dt.datetime, dict[str, Any]]]:
    """Events with awkward data: decimals, huge and tiny numbers, missing and null fields,
    mixed types in one field, booleans, several accounts, types and months."""
    events = []
    for n in range(600):
        account = ("acme", "globex", "initech")[n % 3]
        event_type = (TYPE, "report.exported")[n % 2]
        # November 2025 to March 2026, across a year's end.
        time = dt.datetime(2025, 11, 1) + dt.timedelta(
            days=rng.randrange(150), seconds=rng.randrange(86400)
        )
        data: dict[str, Any] = {}
        if rng.random() < 0.8:
            data["amount"] = round(rng.uniform(0, 10_000), rng.choice((0, 1, 2, 3, 7)))
        if rng.random() < 0.3:
            data["huge"] = rng.choice((1e30, -1e30, 1.5e22, 123456789012345678))
        if rng.random() < 0.5:
            data["mode"] = rng.choice(("auto", "manual", "Auto", "ß", "02134"))
        if rng.random() < 0.2:
            data["mixed"] = rng.choice((1, "one", True, 2.5))
        if rng.random() < 0.1:
            data["gone"] = None
        if rng.random() < 0.3:
            data["flag"] = rng.random() < 0.5
        events.append((account, event_type, time, data))
    return events


def test_set_based_rebuild_equals_the_per_digest_rebuild(any_store: Store) -> None:
    from tests.ingest.digest_reference import compute_figures as reference_figures
    from tests.ingest.digest_reference import reference_content_hash

    add_account(any_store, "acme", "Acme Corp")
    add_account(any_store, "globex", "Globex")  # initech has events but no account row
    add_events(any_store, _odd_events(random.Random(17)))
    with any_store.session() as session:
        months = sorted(all_months(session)) + [("acme", TYPE, "2030-01")]
        expected = [reference_figures(session, *key) for key in months]
        got = compute_all_figures(session, months)
    assert len(months) > 20
    assert [render_digest(f) for f in got] == [render_digest(f) for f in expected]
    assert got == expected  # every figure
    # The stored row (text and meta) hashes as the per-digest rebuild's did: no index churn.
    now = dt.datetime(2026, 6, 1)
    assert [digest_row(f, now)["content_hash"] for f in got if f.count] == [
        reference_content_hash(f) for f in expected if f.count
    ]
    assert any(f.count == 0 for f in got) and any(
        "1,000,000,000,000" in render_digest(f) for f in got
    )
