"""The schema comes from Alembic migrations, and they match the tables the code declares."""

from __future__ import annotations

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
