"""Shared fixtures: an isolated CLERK_HOME per test, stores on SQLite and PostgreSQL.

PostgreSQL and the Chroma server come from `.ci/services.sh` (CLERK_TEST_POSTGRES_URL,
CLERK_TEST_CHROMA_URL). Without them those tests skip, unless CLERK_REQUIRE_SERVICES=1
(as in CI), where a missing service fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import clerk
from clerk.settings import get_settings
from clerk.store import Store

EXAMPLE_DIR = Path(clerk.__file__).parent / "demo_data"


def _service(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CLERK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{name} is not set but CLERK_REQUIRE_SERVICES=1")
        pytest.skip(f"{name} not set (run .ci/services.sh)")
    return value


@pytest.fixture(autouse=True)
def clerk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "clerk-home"
    monkeypatch.setenv("CLERK_HOME", str(home))
    for name in list(os.environ):
        if (
            name.startswith("CLERK_")
            and name not in {"CLERK_HOME"}
            and not name.startswith(("CLERK_TEST_", "CLERK_REQUIRE_"))
        ):
            monkeypatch.delenv(name)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def example_dir() -> Path:
    return EXAMPLE_DIR


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    server = _service("CLERK_TEST_POSTGRES_URL")
    name = f"clerk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(clerk_home: Path) -> str:
    clerk_home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{clerk_home / 'clerk.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    """A migrated SQLite store under the test's CLERK_HOME."""
    s = Store(sqlite_url)
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The same test on SQLite and on PostgreSQL. Sets CLERK_DATABASE_URL for CLI tests."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("CLERK_DATABASE_URL", url)
    get_settings.cache_clear()
    s = Store(url)
    yield s
    s.close()


@pytest.fixture
def chroma_server_url() -> str:
    return _service("CLERK_TEST_CHROMA_URL")
