"""Fixtures for the review UI: a seeded store, users of every role, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clerk.review.users import add_user
from clerk.store import Store
from review_ui import create_app
from tests.review_ui import factory

PASSWORDS = {
    "dana@vendor.example": "dana-pw-1",
    "olga@vendor.example": "olga-pw-1",
    "mia@vendor.example": "mia-pw-1",
    "root@vendor.example": "root-pw-1",
}
ROLES = {
    "dana@vendor.example": "csm",
    "olga@vendor.example": "csm",
    "mia@vendor.example": "manager",
    "root@vendor.example": "admin",
}
TICKET_TEXT = (
    f"Subject: approvals {factory.SCRIPT_TEXT}\n\n"
    "Since the rollout we closed the June books in six days, first time ever."
)
QUOTE = "we closed the June books in six days"


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests: hashes still verify, in a millisecond, not 0.5 s."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        "clerk.review.users._hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@dataclass
class Seeded:
    store: Store
    calc: str
    statement: str
    unverified: str
    gap: str
    other_calc: str
    other_gap: str


def seed(store: Store) -> Seeded:
    """acme belongs to dana, globex to olga; each has drafts and a gap flag."""
    for email, role in ROLES.items():
        add_user(store, email, role, PASSWORDS[email])
    for account, csm in (("acme", "dana@vendor.example"), ("globex", "olga@vendor.example")):
        factory.add_account(store, account, csm)
        start = TICKET_TEXT.index(QUOTE)
        factory.add_source(
            store,
            account,
            f"ticket:{account}-7#1",
            TICKET_TEXT,
            customer=(start - 20, len(TICKET_TEXT)),
        )
    return seed_drafts(store)


def seed_drafts(store: Store) -> Seeded:
    """Drafts and gap flags of both accounts, all at version 1 (callable again after a wipe)."""
    ids = {}
    for account in ("acme", "globex"):
        source = f"ticket:{account}-7#1"
        ids[account] = (
            factory.add_item(store, factory.calc_item(account)),
            factory.add_item(store, factory.statement_item(account, source, TICKET_TEXT, QUOTE)),
            factory.add_item(
                store,
                factory.calc_item(
                    account,
                    f"pi_{account}_bad",
                    claim="1,500 hours saved in Q2 2026.",
                    status="unverified",
                    verification_errors=["number 1,500 in the claim is not grounded"],
                ),
            ),
            factory.add_gap(store, account),
        )
    acme, globex = ids["acme"], ids["globex"]
    return Seeded(store, acme[0], acme[1], acme[2], acme[3], globex[0], globex[3])


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)


@pytest.fixture
def app(store: Store, seeded: Seeded) -> FastAPI:
    return create_app(store)


class Client(TestClient):
    """A TestClient that remembers its session's CSRF token."""

    csrf: str = ""

    def refresh_csrf(self) -> str:
        page = self.get("/login", follow_redirects=True)
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        self.csrf = found.group(1) if found else ""
        return self.csrf


def login(app: FastAPI, email: str | None) -> Client:
    """A client signed in as ``email`` (None: anonymous, with a login-page session)."""
    client = Client(app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.csrf = token.group(1)
    if email is not None:
        response = client.post(
            "/login",
            data={"email": email, "password": PASSWORDS[email], "csrf_token": client.csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        client.refresh_csrf()
    return client


@pytest.fixture
def dana(app: FastAPI) -> Iterator[Client]:
    with login(app, "dana@vendor.example") as client:
        yield client


@pytest.fixture
def mia(app: FastAPI) -> Iterator[Client]:
    with login(app, "mia@vendor.example") as client:
        yield client


def version_of(client: TestClient, item_id: str) -> int:
    response = client.get(f"/api/items/{item_id}")
    assert response.status_code == 200, response.text
    return int(response.json()["item"]["version"])


def text_of(html: str) -> str:
    """What a user reads: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


DEMO_PASSWORDS = {"dana@vendor.example": "dana-demo-pw", "morgan@vendor.example": "morgan-demo-pw"}


def build_demo(store: Store) -> None:
    """The real demo: the packaged example ingested and swept at its as-of date, plus users."""
    import datetime as dt

    from clerk.demo import DEMO_USERS, prepare_demo
    from clerk.sweep.run import run_sweep

    report = prepare_demo(store)
    assert report.exit_code == 0
    run_sweep(store, as_of=dt.date(2026, 7, 1))
    for email, role in DEMO_USERS:
        add_user(store, email, role, DEMO_PASSWORDS[email], replace=True)
