"""The role x route matrix: every route of the app, every role, own and other accounts.

Each case runs on freshly seeded drafts (all at version 1), so an allowed request must
succeed outright (200, or 303 after a plain form post) and a refused one must be refused
with exactly 401 / 403 / a redirect to the login page. A last test sends every
state-changing request without its CSRF token and expects 403.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import delete

from clerk.review import decisions as review
from clerk.review.users import User
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import (
    AuditRow,
    GapFlagRow,
    PacketRow,
    ProofItemRow,
    ShareLinkRow,
    ShareResponseRow,
)
from review_ui import create_app
from tests.review_ui.conftest import PASSWORDS, Client, Seeded, login, seed, seed_drafts

ACCOUNT = {"own": "acme", "other": "globex"}
ADMIN = User("root@vendor.example", "admin")


@dataclass
class Spec:
    method: str
    route: str  # the path template as the app declares it
    access: str  # any | account | manager | dismiss
    url: Callable[[str], str]  # account id -> concrete URL
    form: dict[str, Any] | None = None
    json: dict[str, Any] | None = None
    prepare: Callable[[Store, str], None] | None = None
    ok: int = field(default=0)

    @property
    def api(self) -> bool:
        return self.route.startswith("/api")

    @property
    def expected_ok(self) -> int:
        if self.ok:
            return self.ok
        return 303 if self.method == "POST" and not self.api else 200


def _item(kind: str) -> Callable[[str], str]:
    return {
        "calc": lambda a: f"pi_{a}_hours",
        "stmt": lambda a: f"pi_{a}_close",
        "bad": lambda a: f"pi_{a}_bad",
    }[kind]


def _approved(store: Store, account: str) -> None:
    review.approve(store, f"pi_{account}_hours", actor=ADMIN, version=1)


def _acknowledged(store: Store, account: str) -> None:
    review.update_gap(store, f"gf_{account}_close", actor=ADMIN, version=1, action="acknowledge")


V1 = {"version": 1}
SPECS = [
    Spec("GET", "/login", "any", lambda a: "/login"),
    Spec("POST", "/logout", "any", lambda a: "/logout", form={}),
    Spec("GET", "/", "any", lambda a: "/"),
    Spec("GET", "/accounts/{account_id}", "account", lambda a: f"/accounts/{a}"),
    Spec(
        "POST",
        "/accounts/{account_id}/bulk-approve",
        "account",
        lambda a: f"/accounts/{a}/bulk-approve",
        form={"select": "pi_{a}_hours:1"},
    ),
    Spec("GET", "/items/{item_id}", "account", lambda a: f"/items/pi_{a}_hours"),
    Spec(
        "POST",
        "/items/{item_id}/approve",
        "account",
        lambda a: f"/items/pi_{a}_hours/approve",
        form=V1,
    ),
    Spec(
        "POST",
        "/items/{item_id}/edit",
        "account",
        lambda a: f"/items/pi_{a}_hours/edit",
        form={**V1, "claim": "1,320 hours saved in Q2 2026."},
    ),
    Spec(
        "POST",
        "/items/{item_id}/reject",
        "account",
        lambda a: f"/items/pi_{a}_bad/reject",
        form={**V1, "reason": "duplicate"},
    ),
    Spec(
        "POST",
        "/items/{item_id}/reopen",
        "account",
        lambda a: f"/items/pi_{a}_hours/reopen",
        form={"version": 2, "reason": "disputed"},
        prepare=_approved,
    ),
    Spec("GET", "/gaps/{gap_id}", "account", lambda a: f"/gaps/gf_{a}_close"),
    Spec(
        "POST",
        "/gaps/{gap_id}/assign",
        "account",
        lambda a: f"/gaps/gf_{a}_close/assign",
        form={**V1, "owner": "sam@vendor.example"},
    ),
    Spec(
        "POST",
        "/gaps/{gap_id}/next-action",
        "account",
        lambda a: f"/gaps/gf_{a}_close/next-action",
        form={**V1, "next_action": "Call"},
    ),
    Spec(
        "POST",
        "/gaps/{gap_id}/acknowledge",
        "account",
        lambda a: f"/gaps/gf_{a}_close/acknowledge",
        form=V1,
    ),
    Spec(
        "POST",
        "/gaps/{gap_id}/dismiss",
        "dismiss",
        lambda a: f"/gaps/gf_{a}_close/dismiss",
        form={**V1, "reason": "n/a"},
    ),
    Spec(
        "POST",
        "/gaps/{gap_id}/reopen",
        "account",
        lambda a: f"/gaps/gf_{a}_close/reopen",
        form={"version": 2},
        prepare=_acknowledged,
    ),
    Spec("GET", "/manager", "manager", lambda a: "/manager"),
    Spec("GET", "/manager.csv", "manager", lambda a: "/manager.csv"),
    Spec("GET", "/accounts/{account_id}/packet", "account", lambda a: f"/accounts/{a}/packet"),
    Spec(
        "POST",
        "/accounts/{account_id}/packet/publish",
        "account",
        lambda a: f"/accounts/{a}/packet/publish",
        form={},
    ),
    Spec(
        "GET",
        "/accounts/{account_id}/packet.{fmt}",
        "account",
        lambda a: f"/accounts/{a}/packet.md",
    ),
    # share links (issue 16); the customer's /s/ pages have their own matrix in test_share.py
    Spec(
        "POST",
        "/accounts/{account_id}/packet/share",
        "account",
        lambda a: f"/accounts/{a}/packet/share",
        form={"expires": "7d"},
        prepare=lambda s, a: _publish(s, a),
        ok=200,
    ),
    Spec(
        "POST",
        "/accounts/{account_id}/shares/{share_id}/revoke",
        "account",
        lambda a: f"/accounts/{a}/shares/{SHARED[a]}/revoke",
        form={},
        prepare=lambda s, a: _shared(s, a),
    ),
    # the JSON API
    Spec("GET", "/api/me", "any", lambda a: "/api/me"),
    Spec("GET", "/api/accounts", "any", lambda a: "/api/accounts"),
    Spec(
        "GET", "/api/accounts/{account_id}/items", "account", lambda a: f"/api/accounts/{a}/items"
    ),
    Spec("GET", "/api/items/{item_id}", "account", lambda a: f"/api/items/pi_{a}_hours"),
    Spec(
        "POST",
        "/api/items/{item_id}/approve",
        "account",
        lambda a: f"/api/items/pi_{a}_hours/approve",
        json=V1,
    ),
    Spec(
        "POST",
        "/api/items/{item_id}/edit",
        "account",
        lambda a: f"/api/items/pi_{a}_hours/edit",
        json={**V1, "claim": "1,320 hours saved in Q2 2026."},
    ),
    Spec(
        "POST",
        "/api/items/{item_id}/reject",
        "account",
        lambda a: f"/api/items/pi_{a}_bad/reject",
        json={**V1, "reason": "other", "note": "x"},
    ),
    Spec(
        "POST",
        "/api/items/{item_id}/reopen",
        "account",
        lambda a: f"/api/items/pi_{a}_hours/reopen",
        json={"version": 2, "reason": "disputed"},
        prepare=_approved,
    ),
    Spec(
        "POST",
        "/api/accounts/{account_id}/bulk-approve",
        "account",
        lambda a: f"/api/accounts/{a}/bulk-approve",
        json={"items": [{"id": "pi_{a}_hours", "version": 1}]},
    ),
    Spec("GET", "/api/gaps/{gap_id}", "account", lambda a: f"/api/gaps/gf_{a}_close"),
    Spec(
        "POST",
        "/api/gaps/{gap_id}/assign",
        "account",
        lambda a: f"/api/gaps/gf_{a}_close/assign",
        json={**V1, "owner": "sam@vendor.example"},
    ),
    Spec(
        "POST",
        "/api/gaps/{gap_id}/next-action",
        "account",
        lambda a: f"/api/gaps/gf_{a}_close/next-action",
        json={**V1, "next_action": "Call", "due_date": "2026-08-01"},
    ),
    Spec(
        "POST",
        "/api/gaps/{gap_id}/acknowledge",
        "account",
        lambda a: f"/api/gaps/gf_{a}_close/acknowledge",
        json=V1,
    ),
    Spec(
        "POST",
        "/api/gaps/{gap_id}/dismiss",
        "dismiss",
        lambda a: f"/api/gaps/gf_{a}_close/dismiss",
        json={**V1, "reason": "n/a"},
    ),
    Spec("GET", "/api/manager/grid", "manager", lambda a: "/api/manager/grid"),
    Spec(
        "GET", "/api/accounts/{account_id}/packet", "account", lambda a: f"/api/accounts/{a}/packet"
    ),
    Spec(
        "POST",
        "/api/accounts/{account_id}/packet/publish",
        "account",
        lambda a: f"/api/accounts/{a}/packet/publish",
        json={},
    ),
    Spec(
        "GET",
        "/api/accounts/{account_id}/packets",
        "account",
        lambda a: f"/api/accounts/{a}/packets",
    ),
    Spec(
        "GET",
        "/api/accounts/{account_id}/packets/{version}",
        "account",
        lambda a: f"/api/accounts/{a}/packets/1",
        prepare=lambda s, a: _publish(s, a),
    ),
]
# Routes tested on their own elsewhere (the login form post: test_pages) or not ours to guard.
EXEMPT = {
    ("POST", "/login"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/oauth2-redirect"),
    # no vendor login at all: tests/review_ui/test_share.py checks them link by link
    ("GET", "/s/{token}"),
    ("GET", "/s/{token}/packet.{fmt}"),
    ("POST", "/s/{token}/respond"),
}
SHARED: dict[str, int] = {}
CASES = [
    ("anonymous", "own"),
    ("csm", "own"),
    ("csm", "other"),
    ("manager", "other"),
    ("admin", "other"),
]
USERS = {
    "csm": "dana@vendor.example",
    "manager": "mia@vendor.example",
    "admin": "root@vendor.example",
    "anonymous": None,
}


def _publish(store: Store, account: str) -> None:
    from clerk.packet.assemble import publish_packet

    publish_packet(store, account, actor=ADMIN)


def _shared(store: Store, account: str) -> None:
    from clerk.review.shares import create_share

    _publish(store, account)
    _token, link = create_share(store, account, actor=ADMIN)
    SHARED[account] = link.id


def _wipe(store: Store) -> Seeded:
    with store.session() as session:
        for table in (
            ShareResponseRow,
            ShareLinkRow,
            AuditRow,
            PacketRow,
            ProofItemRow,
            GapFlagRow,
        ):
            session.execute(delete(table))
    return seed_drafts(store)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, FastAPI]]:
    # module-scoped: built before the per-test CLERK_HOME, so its home is given here (else
    # the secret key and the shared pages went to ./.clerk in the working tree)
    home = tmp_path_factory.mktemp("matrix")
    store = Store(f"sqlite:///{home / 'clerk.db'}")
    from argon2 import PasswordHasher

    import clerk.review.users

    clerk.review.users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    seed(store)
    yield store, create_app(store, Settings(home=home))
    store.close()


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI nests them)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def expected(spec: Spec, role: str, target: str) -> int:
    if role == "anonymous":
        if spec.route == "/login":
            return 200
        return 303 if spec.method == "GET" and not spec.api else 401
    if spec.route == "/login":
        return 200  # signed in: /login redirects home, followed here
    refused = (
        (spec.access == "manager" and role == "csm")
        or (spec.access == "dismiss" and role == "csm")
        or (spec.access == "account" and role == "csm" and target == "other")
    )
    return 403 if refused else spec.expected_ok


def send(client: Client, spec: Spec, account: str, *, csrf: bool = True) -> int:
    url = spec.url(account)
    headers = {"X-CSRF-Token": client.csrf} if csrf and spec.api else {}
    follow = spec.route == "/login"
    if spec.method == "GET":
        return client.get(url, headers=headers, follow_redirects=follow).status_code
    if spec.api:
        body: dict[str, Any] = {
            k: (v.replace("{a}", account) if isinstance(v, str) else v)
            for k, v in (spec.json or {}).items()
        }
        if "items" in body:
            body["items"] = [{**i, "id": i["id"].replace("{a}", account)} for i in body["items"]]
        return client.post(url, json=body, headers=headers, follow_redirects=False).status_code
    form = {
        k: (v.replace("{a}", account) if isinstance(v, str) else v)
        for k, v in (spec.form or {}).items()
    }
    if csrf:
        form["csrf_token"] = client.csrf
    return client.post(url, data=form, follow_redirects=False).status_code


def test_the_matrix_covers_every_route(world: tuple[Store, FastAPI]) -> None:
    _, app = world
    declared = {
        (method, route.path) for route in _api_routes(app.routes) for method in route.methods or ()
    }
    covered = {(s.method, s.route) for s in SPECS}
    assert declared - EXEMPT == covered


@pytest.mark.parametrize(("role", "target"), CASES)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.method} {s.route}")
def test_role_x_route(world: tuple[Store, FastAPI], spec: Spec, role: str, target: str) -> None:
    store, app = world
    _wipe(store)
    account = ACCOUNT[target]
    if spec.prepare is not None:
        spec.prepare(store, account)
    with login(app, USERS[role]) as client:
        assert send(client, spec, account) == expected(spec, role, target)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.method == "POST"], ids=lambda s: f"{s.method} {s.route}"
)
def test_state_changes_need_the_csrf_token(world: tuple[Store, FastAPI], spec: Spec) -> None:
    store, app = world
    _wipe(store)
    if spec.prepare is not None:
        spec.prepare(store, "acme")
    with login(app, "root@vendor.example") as client:
        assert send(client, spec, "acme", csrf=False) == 403


def test_api_basic_auth_needs_no_csrf_and_rejects_a_wrong_password(
    world: tuple[Store, FastAPI],
) -> None:
    store, app = world
    _wipe(store)
    client = Client(app)
    good = base64.b64encode(f"dana@vendor.example:{PASSWORDS['dana@vendor.example']}".encode())
    bad = base64.b64encode(b"dana@vendor.example:guess")
    ok = client.post(
        "/api/items/pi_acme_hours/approve",
        json=V1,
        headers={"Authorization": f"Basic {good.decode()}"},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    refused = client.get("/api/me", headers={"Authorization": f"Basic {bad.decode()}"})
    assert refused.status_code == 401 and "www-authenticate" not in refused.headers
    late = client.post(
        "/api/items/pi_acme_hours/approve",
        json=V1,
        headers={"Authorization": f"Basic {good.decode()}"},
    )
    assert late.status_code == 409
    assert late.json()["changed_by"] == "dana@vendor.example"
    assert late.json()["current_version"] == 2
