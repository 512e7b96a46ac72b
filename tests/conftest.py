"""Shared fixtures: an isolated CLERK_HOME per test, stores on SQLite and PostgreSQL.

PostgreSQL and the Chroma server come from `.ci/services.sh` (CLERK_TEST_POSTGRES_URL,
CLERK_TEST_CHROMA_URL). Without them those tests skip, unless CLERK_REQUIRE_SERVICES=1
(as in CI), where a missing service fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import clerk
from clerk.settings import get_settings
from clerk.store import Store

EXAMPLE_DIR = Path(clerk.__file__).parent / "demo_data"

# Hypothesis (through schemathesis) keeps its example database and caches in the working
# directory by default; tests write nothing into the tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="clerk-hypothesis-"))
hypothesis_settings.register_profile("clerk", database=None)
hypothesis_settings.load_profile("clerk")


# Modules whose tests take seconds each (whole ingest + sweep runs, real embeddings, servers,
# subprocesses). With the service tests they make the `slow` tier: `pytest -m "not slow"`
# is the fast tier for day-to-day work.
SLOW_MODULES = {
    "tests/cli/test_index_cli.py",
    "tests/evals/test_cli.py",
    "tests/evals/test_gate.py",
    "tests/hardening/test_bad_files.py",
    "tests/hardening/test_ingest_kill.py",
    "tests/hardening/test_numbers.py",
    "tests/hardening/test_sweep_digest_kill.py",
    "tests/hardening/test_sweep_lock.py",
    "tests/retrievers/test_embeddings.py",
    "tests/retrievers/test_hybrid.py",
    "tests/review_ui/test_demo.py",
    "tests/review_ui/test_schemathesis.py",
    "tests/review_ui/test_serve.py",
    "tests/sweep/test_sweep_kill.py",
    "tests/test_retrieval.py",
}
SERVICE_MARKS = ("postgres", "chroma_server", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a service, whichever fixture brings the service in.

    ``-m "not postgres and not chroma_server and not browser"`` then runs without services;
    in CI (CLERK_REQUIRE_SERVICES=1) none of them skips. Service tests and the modules above
    are also ``slow``.
    """
    root = Path(__file__).resolve().parent.parent
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres_url" in names or "postgresql" in params.values():
            item.add_marker(pytest.mark.postgres)
        if "chroma_server_url" in names or any(
            params.get(name) == "server" for name in ("index", "vectors")
        ):
            item.add_marker(pytest.mark.chroma_server)
        module = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if module in SLOW_MODULES or any(item.get_closest_marker(m) for m in SERVICE_MARKS):
            item.add_marker(pytest.mark.slow)


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
