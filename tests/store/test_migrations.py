"""The schema comes from Alembic migrations, and they match the tables the code declares."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from clerk.store import Store
from clerk.store.rows import stored_value_case
from clerk.store.tables import Base, OutcomeRow, ValueCaseRow


def test_migrations_build_every_declared_table(any_store: Store) -> None:
    tables = set(inspect(any_store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_declared_models(any_store: Store) -> None:
    with any_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_opening_twice_is_a_no_op(any_store: Store) -> None:
    again = Store(any_store.url)
    assert set(inspect(again.engine).get_table_names()) == set(
        inspect(any_store.engine).get_table_names()
    )
    again.close()


def test_json_columns_round_trip_every_value_json_can_write(any_store: Store) -> None:
    from clerk.store.tables import SweepRow

    stats = {"n": 1, "x": 2.5, "ok": True, "none": None, "nested": {"l": [1, "two"]}}
    odd = {"nan": float("nan"), "inf": float("inf")}
    with any_store.session() as session:
        session.add_all([SweepRow(id=1, as_of=dt.date(2026, 7, 1), stats=stats)])
        if any_store.dialect == "sqlite":  # PostgreSQL's JSONB refuses NaN itself
            session.add(SweepRow(id=2, as_of=dt.date(2026, 7, 1), stats=odd))
    with any_store.session() as session:
        assert session.get(SweepRow, 1).stats == stats
        if any_store.dialect == "sqlite":
            back = session.get(SweepRow, 2).stats
            assert math.isnan(back["nan"]) and back["inf"] == float("inf")


# --- 0002: outcomes stored once -------------------------------------------------------------

_OLD_CASE = {
    "account_id": "acme",
    "source": "Business case v2",
    "payback": {"investment": 50000, "benefit": "cost_saved", "forecast": 6},
    "outcomes": [
        {"id": "hours_saved", "title": "Hours saved", "category": "productivity",
         "unit": "hours", "period": "quarter", "target": 1200, "formula": "done * minutes / 60",
         "inputs": [{"name": "done", "metric": "approval.completed", "aggregation": "count"},
                    {"name": "minutes", "assumption": 16.5, "source": "Time study"}]},
        # the YAML shape an early ingest stored: inputs keyed by name
        {"id": "cost_saved", "title": "Cost saved", "category": "cost", "unit": "USD",
         "period": "quarter", "formula": "hours * rate",
         "inputs": {"hours": {"outcome": "hours_saved"}, "rate": {"assumption": 45}}},
    ],
}  # fmt: skip


def _old_store(url: str) -> Store:
    """A database at revision 0001 with a value case written the way 0001's ingest wrote it."""
    from alembic import command

    from clerk.store.db import alembic_config

    store = Store(url, migrate=False)
    with store.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now = dt.datetime(2026, 6, 1)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, name, csm, data, content_hash, evidence_version, "
                "updated_at) VALUES ('acme', 'Acme', 'dana@vendor.example', :data, 'h', 1, :now)"
            ),
            {
                "data": json.dumps(
                    {"id": "acme", "name": "Acme", "contract": {"start": "2026-01-01"}}
                ),
                "now": now,
            },  # fmt: skip
        )
        conn.execute(
            text(
                "INSERT INTO value_cases (account_id, source, data, content_hash, updated_at) "
                "VALUES ('acme', 'Business case v2', :data, 'vc-hash', :now)"
            ),
            {"data": json.dumps(_OLD_CASE), "now": now},
        )
        # 0001's ingest also wrote each outcome as a row; a stale title shows which copy wins.
        conn.execute(
            text(
                "INSERT INTO outcomes (account_id, id, position, title, category, period, data) "
                "VALUES ('acme', 'hours_saved', 0, 'Old title', 'productivity', 'quarter', :d)"
            ),
            {"d": json.dumps({"id": "hours_saved", "title": "Old title"})},
        )
    return store


def _head(url: str) -> str:
    """The newest revision of the migration scripts (one head: they form a chain)."""
    from alembic.script import ScriptDirectory

    from clerk.store.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    assert len(heads) == 1, heads
    return heads[0]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_0002_moves_outcomes_into_their_table_and_readers_see_the_same_case(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    old = _old_store(url)
    old.close()
    store = Store(url)  # opening migrates to head
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                _head(url)
            )
        with store.session() as session:
            row = session.get(ValueCaseRow, "acme")
            assert row is not None and "outcomes" not in row.data
            assert row.data["payback"]["investment"] == 50000
            assert row.content_hash == "vc-hash"  # unchanged: nothing is redrafted for the move
            case = stored_value_case(session, "acme")
            titles = session.scalars(select(OutcomeRow.title).order_by(OutcomeRow.position)).all()
        assert case.source == "Business case v2" and case.payback is not None
        assert [o.id for o in case.outcomes] == ["hours_saved", "cost_saved"]
        assert titles == ["Hours saved", "Cost saved"]
        hours = case.outcome("hours_saved")
        assert hours is not None and hours.target == 1200
        assert [i.name for i in hours.inputs] == ["done", "minutes"]
        assert hours.inputs[1].assumption == 16.5 and hours.inputs[1].source == "Time study"
        cost = case.outcome("cost_saved")
        # JSONB keeps no key order, so a name-keyed shape comes back in any order
        assert cost is not None and {i.name: i.outcome for i in cost.inputs} == {
            "hours": "hours_saved",
            "rate": None,
        }
    finally:
        store.close()


def test_ingest_writes_each_outcome_once(store: Store, example_dir: Path) -> None:
    from clerk.ingest import run_ingest

    run_ingest(example_dir, store)
    with store.session() as session:
        row = session.get(ValueCaseRow, "northwind")
        assert row is not None and "outcomes" not in row.data
        case = stored_value_case(session, "northwind")
    assert [o.id for o in case.outcomes] == [
        "hours_saved",
        "cost_recovered",
        "close_days",
        "active_approvers",
    ]
