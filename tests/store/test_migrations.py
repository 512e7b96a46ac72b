"""The schema comes from Alembic migrations, and they match the tables the code declares."""

from __future__ import annotations

import datetime as dt
import math

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from clerk.store import Store
from clerk.store.tables import Base


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
