"""The Store: one engine and its sessions, migrated to the newest schema on open."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Executable, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from clerk.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the review UI read while a sweep writes; NORMAL sync is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # json.dumps writes NaN and Infinity, which orjson refuses: never leave a row unreadable.
        return json.loads(text)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def read_rows(
    session: Session, statement: Executable, params: Mapping[str, Any] | None = None
) -> Any:  # a Result, typed Any: its rows unpack like tuples
    """The rows of a Core ``select`` of columns (no ORM entities) through the session's
    connection, in its transaction: what ``session.execute`` returns for it, without the
    ORM's work per statement (about 0.15 to 0.2 ms, more than a small indexed read costs
    SQLite itself).
    Pending ORM changes are flushed first, as the session's autoflush would."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(statement, dict(params or {}))


class Store:
    """SQL store. ``Store(url)`` opens (and migrates) a database; ``Store()`` uses settings."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        settings = get_settings()
        self.url = url or settings.sqlalchemy_url
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # orjson decodes the JSON payload columns several times faster than json.loads; the
        # review pages read dozens of them per request.
        self.engine: Engine = create_engine(
            self.url, future=True, pool_pre_ping=True, json_deserializer=_loads
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Store:
        return cls((settings or get_settings()).sqlalchemy_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()
