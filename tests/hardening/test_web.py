"""The review UI under attack: forged cookies, dead sessions, guessing, big bodies, echoes.

Issue 13: sessions signed with a public constant could be forged; sessions survived logout
and password change; no throttling; Basic timing told which emails exist; a 200 MB body was
read before the 401; a 422 echoed its input; no CSP / X-Frame-Options / nosniff.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from typer.testing import CliRunner

from clerk.cli import app as cli_app
from clerk.review.users import add_user
from clerk.settings import Settings, get_settings
from clerk.store import Store
from review_ui import create_app
from review_ui.security import SESSION_COOKIE, resolve_secret
from tests.review_ui.conftest import PASSWORDS, Client, login, seed

DANA, MIA = "dana@vendor.example", "mia@vendor.example"
PUBLIC_KEYS = ["change-me-in-production", "", "secret", "clerk", "evidence-clerk", "changeme"]


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        "clerk.review.users._hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture
def web(store: Store) -> FastAPI:
    seed(store)
    return create_app(store)


@pytest.fixture
def dana(web: FastAPI) -> Iterator[Client]:
    with login(web, DANA) as client:
        yield client


def _signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


# --- 1. secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", PUBLIC_KEYS)
@pytest.mark.parametrize("salt", ["clerk-session", "clerk-anonymous-session"])
def test_a_cookie_signed_with_a_public_string_is_no_session(
    web: FastAPI, key: str, salt: str
) -> None:
    forged = URLSafeTimedSerializer(key, salt=salt).dumps({"email": MIA, "csrf": "x"})
    client = TestClient(web, cookies={SESSION_COOKIE: forged})
    assert client.get("/", follow_redirects=False).status_code == 303  # to the login page
    assert client.get("/api/accounts").status_code == 401
    changed = client.post(
        "/api/items/x/approve", json={"version": 1}, headers={"X-CSRF-Token": "x"}
    )
    assert changed.status_code == 401


def test_even_the_servers_own_key_cannot_sign_a_user_in(web: FastAPI, clerk_home: Path) -> None:
    key = (clerk_home / "secret_key").read_text().strip()
    forged = URLSafeTimedSerializer(key, salt="clerk-anonymous-session").dumps(
        {"email": MIA, "csrf": "x"}
    )
    client = TestClient(web, cookies={SESSION_COOKIE: forged})
    assert not _signed_in(client)


def test_first_start_generates_a_strong_key_kept_mode_0600(clerk_home: Path) -> None:
    first = resolve_secret(Settings())
    path = clerk_home / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 32 and first != "change-me-in-production"
    assert resolve_secret(Settings()) == first  # kept across restarts


@pytest.mark.parametrize("key", ["", "short", "x" * 31])
def test_serve_refuses_a_short_key_with_a_clear_message(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", key)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "CLERK_SECRET_KEY is" in result.output and "at least 32" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_long_key_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "k" * 40)
    assert resolve_secret(Settings()) == "k" * 40


# --- 2. server-side sessions ---------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(web: FastAPI, dana: Client) -> None:
    cookie = dana.cookies[SESSION_COOKIE]
    assert dana.post("/logout", headers={"X-CSRF-Token": dana.csrf}).status_code in (200, 303)
    replay = TestClient(web, cookies={SESSION_COOKIE: cookie})
    assert not _signed_in(replay)


def test_password_change_ends_every_session_of_the_user(web: FastAPI, store: Store) -> None:
    first, second = login(web, DANA), login(web, DANA)
    other = login(web, MIA)
    add_user(store, DANA, "csm", "a-new-password-1", replace=True)
    assert not _signed_in(first) and not _signed_in(second)
    assert _signed_in(other)


@pytest.mark.parametrize("command", [["remove"], ["disable"]])
def test_users_remove_and_disable_end_sessions_at_once(
    web: FastAPI, store: Store, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login(web, DANA)
    assert _signed_in(client)
    monkeypatch.setenv("CLERK_DATABASE_URL", store.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["users", *command, DANA])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert not _signed_in(client)
    basic = TestClient(web).get("/api/accounts", auth=(DANA, PASSWORDS[DANA]))
    assert basic.status_code == 401
    fresh = Client(web)
    page = fresh.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    again = fresh.post(
        "/login", data={"email": DANA, "password": PASSWORDS[DANA], "csrf_token": token}
    )
    assert again.status_code == 401


def test_users_remove_of_an_unknown_user_is_a_clear_error(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_DATABASE_URL", store.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["users", "remove", "nobody@example.com"])
    assert result.exit_code == 1 and "no user nobody@example.com" in result.output


def _try_login(client: Client, email: str, password: str) -> int:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    return response.status_code


def test_login_is_throttled_per_account(web: FastAPI) -> None:
    client = Client(web)
    codes = [_try_login(client, DANA, f"guess-{i}") for i in range(10)]
    assert codes == [401] * 10
    # The right password no longer helps the guesser; the account waits out the window.
    assert _try_login(Client(web), DANA, PASSWORDS[DANA]) == 429


def test_login_is_throttled_per_client_address(web: FastAPI) -> None:
    client = Client(web)
    for i in range(10):
        assert _try_login(client, f"user{i}@example.com", "pw") == 401
    assert _try_login(client, MIA, PASSWORDS[MIA]) == 429


def test_basic_auth_is_throttled(web: FastAPI) -> None:
    client = TestClient(web)
    codes = [client.get("/api/accounts", auth=(DANA, f"g{i}")).status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_workers_on_one_database_share_one_sign_in_budget(any_store: Store) -> None:
    """Two apps (as two `clerk serve` workers: each its own engine) on the same database:
    the guesser gets one budget per account and per address, not one per worker."""
    seed(any_store)
    workers = [create_app(Store(any_store.url)) for _ in range(2)]
    one, two = Client(workers[0]), Client(workers[1])
    codes = [_try_login((one, two)[i % 2], DANA, f"guess-{i}") for i in range(10)]
    assert codes == [401] * 10
    assert _try_login(Client(workers[1]), DANA, PASSWORDS[DANA]) == 429
    assert _try_login(Client(workers[0]), DANA, PASSWORDS[DANA]) == 429
    basic = TestClient(workers[1]).get("/api/accounts", auth=(DANA, PASSWORDS[DANA]))
    assert basic.status_code == 429
    # The per-address budget is shared too: other emails from the same address.
    for i in range(10):
        worker = Client(workers[i % 2])
        assert _try_login(worker, f"user{i}@example.com", "pw") in (401, 429)
    assert _try_login(Client(workers[0]), MIA, PASSWORDS[MIA]) == 429
    # A restarted worker (a new app object) still sees the failures.
    assert _try_login(Client(create_app(Store(any_store.url))), MIA, PASSWORDS[MIA]) == 429


def test_a_success_clears_the_accounts_failures_for_every_worker(any_store: Store) -> None:
    seed(any_store)
    one, two = (create_app(Store(any_store.url)) for _ in range(2))
    for i in range(9):
        assert _try_login(Client(one), DANA, f"guess-{i}") == 401
    assert _try_login(Client(two), DANA, PASSWORDS[DANA]) == 303
    assert _try_login(Client(one), DANA, "guess-again") == 401  # the count started over


def test_basic_auth_spends_one_hash_on_unknown_emails(
    web: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clerk.review.users as users

    calls: list[str] = []
    real = users.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    monkeypatch.setattr("review_ui.security.verify_password", counting)
    client = TestClient(web)
    assert client.get("/api/accounts", auth=("ghost@example.com", "pw")).status_code == 401
    assert client.get("/api/accounts", auth=(DANA, "wrong")).status_code == 401
    assert len(calls) == 2  # one argon2 verification each: timing does not tell them apart


# --- request bodies, 422, headers ------------------------------------------------------------


def _asgi(app: FastAPI, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> dict[str, Any]:
    """Call the app as a server would; report the status and how many chunks it read."""
    read = 0
    sent: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/items/x/approve", "raw_path": b"/api/items/x/approve",
        "query_string": b"", "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return {"status": sent.get("status"), "read": read}


def test_a_declared_oversized_body_is_refused_unread(web: FastAPI) -> None:
    headers = [(b"content-length", b"200000000"), (b"content-type", b"application/json")]
    result = _asgi(web, headers, [b"x" * 1024] * 3)
    assert result == {"status": 413, "read": 0}


def test_a_streamed_oversized_body_is_cut_off(store: Store) -> None:
    seed(store)
    app = create_app(store, Settings(max_body_bytes=10_000))
    chunks = [b"x" * 4096] * 50  # chunked: no Content-Length
    result = _asgi(app, [(b"content-type", b"application/json")], chunks)
    assert result["status"] == 413 and result["read"] <= 4


def test_a_422_does_not_echo_the_input(web: FastAPI) -> None:
    big = "A" * 200_000
    response = TestClient(web).post(
        "/api/items/x/approve", json={"version": big}, auth=(DANA, PASSWORDS[DANA])
    )
    assert response.status_code == 422
    assert "AAAA" not in response.text and len(response.text) < 2_000
    assert response.json()["detail"][0]["loc"] == ["body", "version"]


def test_packet_version_of_twenty_digits_is_a_422_not_a_500(dana: Client) -> None:
    response = dana.get("/accounts/acme/packet.md?version=" + "9" * 20)
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/login", "/", "/api/docs", "/static/app.css", "/nope"])
def test_security_headers_on_every_response(dana: Client, path: str) -> None:
    headers = dana.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    inline = "'unsafe-inline'" in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert inline == (path == "/api/docs")  # only the vendored Swagger page runs inline script


def test_pages_carry_no_inline_script_the_policy_would_block(dana: Client) -> None:
    for path in ("/", "/accounts/acme", "/login", "/manager"):
        html = dana.get(path).text
        assert " onclick=" not in html and "javascript:" not in html
        assert "<script>" not in html
