"""Share links (issue 16): the customer's page, their answers, and what the vendor then sees.

The customer's routes have no login, so their matrix is link state x route instead of role x
route: only an active link opens anything, and unknown / expired / revoked links all answer
404 with nothing about the account.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from clerk.cli import app as cli_app
from clerk.packet.assemble import draft_packet, get_packet, publish_packet
from clerk.packet.render import render
from clerk.review import decisions as review
from clerk.review.shares import (
    Submission,
    create_share,
    hash_token,
    record_responses,
    revoke_share,
)
from clerk.review.users import User
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import AccountRow, AuditRow, ShareLinkRow, ShareResponseRow
from review_ui import create_app
from review_ui.routes.share import RedactShareTokens
from tests.review_ui.conftest import Client, Seeded, text_of

ADMIN = User("root@vendor.example", "admin")
PRIYA = {"name": "Priya Raman", "email": "priya@acme.example"}


def _ready(store: Store, account: str = "acme") -> None:
    """Customer domains on the account, two approved items and a gap flag, published v1."""
    with store.session() as session:
        row = session.get(AccountRow, account)
        assert row is not None
        row.data = {**row.data, "customer_domains": [f"{account}.example"]}
    review.approve(store, f"pi_{account}_hours", actor=ADMIN, version=1)
    review.approve(store, f"pi_{account}_close", actor=ADMIN, version=1)
    review.reject(
        store, f"pi_{account}_bad", actor=ADMIN, version=1, reason="other", note="SECRET-REJECT"
    )
    publish_packet(store, account, actor=ADMIN)


@pytest.fixture
def shared(store: Store, seeded: Seeded) -> str:
    _ready(store)
    _ready(store, "globex")
    token, _ = create_share(store, "acme", actor=ADMIN)
    return token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _answer(client: TestClient, token: str, **fields: str) -> int:
    page = client.get(f"/s/{token}")
    data = {"csrf_token": _csrf(page.text), **PRIYA, **fields}
    return client.post(f"/s/{token}/respond", data=data, follow_redirects=False).status_code


# --- the link-state matrix -------------------------------------------------------------------

ROUTES: list[tuple[str, Callable[[str], str], int]] = [
    ("GET", lambda t: f"/s/{t}", 200),
    ("GET", lambda t: f"/s/{t}/packet.html", 200),
    ("GET", lambda t: f"/s/{t}/packet.pdf", 200),
    ("POST", lambda t: f"/s/{t}/respond", 303),
]


def _make(store: Store, state: str) -> str:
    if state == "unknown":
        return "A" * 43  # the shape of a real token, never issued
    token, link = create_share(store, "acme", actor=ADMIN)
    if state == "revoked":
        revoke_share(store, str(link.id), actor=ADMIN)
    if state == "expired":
        with store.session() as session:
            session.execute(
                update(ShareLinkRow)
                .where(ShareLinkRow.id == link.id)
                .values(expires_at=dt.datetime(2020, 1, 1))
            )
    return token


@pytest.mark.parametrize("state", ["active", "expired", "revoked", "unknown"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]('TOKEN')}")
def test_only_an_active_link_opens_anything(
    app: FastAPI, store: Store, seeded: Seeded, state: str, route: tuple
) -> None:
    _ready(store)
    method, url, ok = route
    token = _make(store, state)
    # any browser will do: no vendor session at all
    client = TestClient(app)
    if method == "GET":
        response = client.get(url(token))
    else:
        good = _make(store, "active")  # a real form token, of another link when not active
        form = _csrf(client.get(f"/s/{good if state != 'active' else token}").text)
        response = client.post(
            url(token),
            data={"csrf_token": form, **PRIYA, "answer:pi_acme_hours": "confirm"},
            follow_redirects=False,
        )
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    if state == "active":
        assert response.status_code == ok
        return
    assert response.status_code == 404
    said = text_of(response.text)
    expected = {
        "expired": "This link has expired.",
        "revoked": "This link was revoked.",
        "unknown": "This link does not work.",
    }[state]
    assert expected in said
    for secret in ("Acme", "acme", "version", "1,320", "dana@"):
        assert secret not in said


def test_link_ids_and_other_accounts_cannot_be_enumerated(
    app: FastAPI, store: Store, shared: str
) -> None:
    client = TestClient(app)
    for guess in ("1", "2", "acme", "globex", "acme-1", hash_token(shared)):
        response = client.get(f"/s/{guess}")
        assert response.status_code == 404
        assert "This link does not work." in text_of(response.text)


def test_the_customer_page_shows_the_customer_packet_only(
    app: FastAPI, store: Store, shared: str
) -> None:
    review.update_gap(
        store,
        "gf_acme_close",
        actor=ADMIN,
        version=1,
        action="assign",
        owner="owner-sam@vendor.example",
    )
    client = TestClient(app)
    page = text_of(client.get(f"/s/{shared}").text)
    packet = text_of(client.get(f"/s/{shared}/packet.html").text)
    assert "Acme Inc" in page and "1,320 hours saved on approvals" in page
    assert "1,320 hours saved on approvals" in packet
    assert "some months old" in packet  # what is missing is still said, in the customer's words
    for text in (page, packet):
        assert "The CFO sees no current proof" not in text  # risk
        assert "Ask the champion to confirm" not in text  # next action
        assert "@vendor.example" not in text  # CSM, publisher, owners
        assert "SECRET-REJECT" not in text and "1,500 hours" not in text  # rejected item
        assert "Globex" not in text
        assert "DRAFT" not in text
    pdf = client.get(f"/s/{shared}/packet.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    assert client.get(f"/s/{shared}/packet.json").status_code == 404


def test_answers_need_the_link_form_token(app: FastAPI, store: Store, shared: str) -> None:
    client = TestClient(app)
    other, _ = create_share(store, "globex", actor=ADMIN)
    foreign = _csrf(client.get(f"/s/{other}").text)
    for token in ("", "x" * 64, foreign):
        response = client.post(
            f"/s/{shared}/respond",
            data={"csrf_token": token, **PRIYA, "answer:pi_acme_hours": "confirm"},
        )
        assert response.status_code == 403
    with store.session() as session:
        assert session.scalars(select(ShareResponseRow)).all() == []


def test_a_link_is_throttled_per_token_and_per_address(store: Store, shared: str) -> None:
    app = create_app(store, Settings(share_requests_per_minute=5))
    client = TestClient(app)
    codes = [client.get(f"/s/{shared}").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    # guessing other tokens from the same address is throttled too
    assert client.get("/s/" + "B" * 43).status_code == 429
    late = client.get(f"/s/{shared}/packet.html")
    assert late.status_code == 429 and late.headers["retry-after"] == "60"
    assert late.headers["referrer-policy"] == "no-referrer"


def test_workers_on_one_database_share_one_link_budget(store: Store, shared: str) -> None:
    workers = [create_app(Store(store.url), Settings(share_requests_per_minute=5)) for _ in "ab"]
    clients = [TestClient(w) for w in workers]
    codes = [clients[i % 2].get(f"/s/{shared}").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]
    assert clients[0].get(f"/s/{shared}/packet.html").status_code == 429


# --- answers ---------------------------------------------------------------------------------


def test_confirm_and_question_from_the_link_reach_the_csm(
    app: FastAPI, store: Store, shared: str, dana: Client
) -> None:
    client = TestClient(app)
    status = _answer(
        client,
        shared,
        **{
            "answer:pi_acme_hours": "confirm",
            "answer:pi_acme_close": "question",
            "comment:pi_acme_close": "We closed in seven days, not six.",
            "overall": "Great work on approvals.",
        },
    )
    assert status == 303
    page = text_of(client.get(f"/s/{shared}").text)
    assert "Confirmed by Priya Raman on" in page
    assert "Questioned by Priya Raman: We closed in seven days, not six." in page

    # the questioned item is back in dana's queue with the comment; the confirmed one says so
    account = dana.get("/accounts/acme")
    queue = text_of(account.text.split('id="queue"', 1)[1].split('class="gaps"', 1)[0])
    assert "Questioned by Priya Raman: We closed in seven days, not six." in queue
    assert "Confirmed by Priya Raman on" in text_of(account.text)
    with store.session() as session:
        actions = [
            (r.target_id, r.action, r.actor)
            for r in session.scalars(
                select(AuditRow).where(AuditRow.action.like("customer_%")).order_by(AuditRow.id)
            )
        ]
        rows = session.scalars(select(ShareResponseRow).order_by(ShareResponseRow.id)).all()
    customer = "customer: Priya Raman <priya@acme.example>"
    assert actions == [
        ("pi_acme_hours", "customer_confirm", customer),
        ("pi_acme_close", "customer_question", customer),
    ]
    assert [(r.item_id, r.kind, r.version) for r in rows] == [
        ("pi_acme_hours", "confirm", 1),
        ("pi_acme_close", "question", 1),
        (None, "comment", 1),
    ]
    # the item's history shows the customer's question
    card = text_of(dana.get("/items/pi_acme_close").text)
    assert "customer question" in card and "packet v1: We closed in seven days" in card
    # the overall comment is on the packet page beside the link
    assert "“Great work on approvals.” — Priya Raman" in text_of(
        dana.get("/accounts/acme/packet").text
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "priya@gmail.com"}, "Use your work email at Acme Inc"),
        ({"email": "priya@evil-acme.example"}, "Use your work email at Acme Inc"),
        ({"name": " "}, "Give your name."),
        ({"answer:pi_acme_close": "question"}, "A question needs a comment"),
        ({"answer:pi_globex_hours": "confirm"}, "not in this packet"),
        ({"answer:pi_acme_bad": "confirm"}, "not in this packet"),
        ({}, "Confirm or question at least one item"),
    ],
)
def test_refused_answers_say_why_and_store_nothing(
    app: FastAPI, store: Store, shared: str, fields: dict[str, str], message: str
) -> None:
    client = TestClient(app)
    page = client.get(f"/s/{shared}")
    data = {"csrf_token": _csrf(page.text), **PRIYA, **fields}
    response = client.post(f"/s/{shared}/respond", data=data)
    assert response.status_code == 422
    assert message in text_of(response.text)
    with store.session() as session:
        assert session.scalars(select(ShareResponseRow)).all() == []


def test_a_subdomain_of_a_customer_domain_may_answer(store: Store, shared: str) -> None:
    opened = record_responses(
        store,
        shared,
        Submission("Tom Okafor", "Tom@Finance.Acme.Example", {"pi_acme_hours": ("confirm", "")}),
    )
    assert opened.answers["pi_acme_hours"].email == "tom@finance.acme.example"


def test_the_next_version_carries_the_confirmations(store: Store, shared: str) -> None:
    record_responses(
        store,
        shared,
        Submission("Priya Raman", "priya@acme.example", {"pi_acme_hours": ("confirm", "")}),
    )
    v2 = publish_packet(store, "acme", actor=ADMIN)
    assert [(c.item_id, c.name, c.version) for c in v2.confirmations] == [
        ("pi_acme_hours", "Priya Raman", 1)
    ]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for audience in ("internal", "customer"):
        html = text_of(render(get_packet(store, "acme", 2), "html", audience=audience).decode())
        assert f"Confirmed by Priya Raman on {today}" in html
        md = render(get_packet(store, "acme", 2), "md", audience=audience).decode()
        assert f"Confirmed by Priya Raman on {today}" in md
    # version 1 is as it was published: nothing confirmed then
    assert get_packet(store, "acme", 1).confirmations == []
    # a later question takes the confirmation back
    record_responses(
        store,
        shared,
        Submission("Priya Raman", "priya@acme.example", {"pi_acme_hours": ("question", "Q3 too?")}),
    )
    assert draft_packet(store, "acme").confirmations == []


def test_a_confirmation_does_not_carry_to_new_words(store: Store, shared: str) -> None:
    record_responses(
        store,
        shared,
        Submission("Priya Raman", "priya@acme.example", {"pi_acme_close": ("confirm", "")}),
    )
    review.reopen(store, "pi_acme_close", actor=ADMIN, version=2, reason="reword")
    review.edit(
        store,
        "pi_acme_close",
        actor=ADMIN,
        version=3,
        claim='In Q2 2026 the customer said: "we closed the June books in six days".',
    )
    assert draft_packet(store, "acme").confirmations == []


def test_revoking_from_the_packet_page(
    app: FastAPI, store: Store, shared: str, dana: Client
) -> None:
    page = dana.get("/accounts/acme/packet")
    link_id = re.search(r'data-revoke="(\d+)"', page.text)
    assert link_id is not None
    response = dana.post(
        f"/accounts/acme/shares/{link_id.group(1)}/revoke",
        data={"csrf_token": dana.csrf},
        follow_redirects=True,
    )
    assert f"Link {link_id.group(1)} revoked" in text_of(response.text)
    assert TestClient(app).get(f"/s/{shared}").status_code == 404


def test_sharing_from_the_packet_page_shows_the_url_once(
    app: FastAPI, store: Store, seeded: Seeded, dana: Client
) -> None:
    _ready(store)
    made = dana.post("/accounts/acme/packet/share", data={"csrf_token": dana.csrf, "expires": "2w"})
    assert made.status_code == 200
    url = re.search(r'id="share-url" readonly value="([^"]+)"', made.text)
    assert url is not None and url.group(1).startswith("http://127.0.0.1:8000/s/")
    token = url.group(1).rsplit("/", 1)[1]
    assert len(token) >= 43
    with store.session() as session:
        row = session.scalar(select(ShareLinkRow))
        assert row is not None and row.token_hash == hash_token(token)
        assert row.expires_at - row.created_at == dt.timedelta(days=14)
    assert token not in dana.get("/accounts/acme/packet").text
    assert TestClient(app).get(f"/s/{token}").status_code == 200
    bad = dana.post("/accounts/acme/packet/share", data={"csrf_token": dana.csrf, "expires": "9y"})
    assert bad.status_code == 422 and "Expiry '9y'" in text_of(bad.text)


def test_a_draft_cannot_be_shared(store: Store, seeded: Seeded) -> None:
    with pytest.raises(review.InvalidDecision, match="no published packet yet"):
        create_share(store, "acme", actor=ADMIN)
    with pytest.raises(review.Forbidden):
        create_share(store, "globex", actor=User("dana@vendor.example", "csm"))


# --- the manager grid ------------------------------------------------------------------------


def test_grid_shows_customer_confirmed_and_filters_unanswered_links(
    app: FastAPI, store: Store, shared: str, mia: Client
) -> None:
    create_share(store, "globex", actor=ADMIN)
    record_responses(
        store,
        shared,
        Submission("Priya Raman", "priya@acme.example", {"pi_acme_hours": ("confirm", "")}),
    )
    grid = mia.get("/manager").text
    acme = text_of(grid.split("Acme Inc", 1)[1].split("</tr>", 1)[0])
    globex = text_of(grid.split("Globex Inc", 1)[1].split("</tr>", 1)[0])
    # hours saved (confirmed), days to close (approved, not answered)
    assert acme == (
        "acme dana@vendor.example 2027-01-01 Hours saved on approvals · customer confirmed "
        "Days to close the books ⚑1"
    )
    assert "customer confirmed" not in globex
    assert re.search(r'<span class="n">1</span><span class="l">confirmed by the customer', grid)

    assert "Globex Inc" not in mia.get("/manager?unanswered_days=3").text  # shared today
    with store.session() as session:
        session.execute(
            update(ShareLinkRow).values(created_at=dt.datetime.now() - dt.timedelta(days=5))
        )
    late = mia.get("/manager?unanswered_days=3").text
    assert "Globex Inc" in late and "Acme Inc" not in late  # acme answered
    assert mia.get("/manager?unanswered_days=x").status_code == 422


# --- the command line and the logs -------------------------------------------------------------


def test_clerk_share_prints_a_working_url_and_revokes(
    store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ready(store)
    monkeypatch.setenv("CLERK_PUBLIC_URL", "https://proof.vendor.example/")
    from clerk.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    made = runner.invoke(cli_app, ["share", "acme", "--expires", "10d"])
    assert made.exit_code == 0, made.output
    url = made.output.strip().splitlines()[-1]
    assert url.startswith("https://proof.vendor.example/s/")
    token = url.rsplit("/", 1)[1]
    app = create_app(store)
    assert TestClient(app).get(f"/s/{token}").status_code == 200
    listed = runner.invoke(cli_app, ["share", "acme", "--list"])
    assert "v1\tactive" in listed.output and token not in listed.output
    revoked = runner.invoke(cli_app, ["share", "--revoke", token])
    assert revoked.exit_code == 0 and "Revoked link 1 (acme v1)" in revoked.output
    assert "This link was revoked." in text_of(TestClient(app).get(f"/s/{token}").text)
    missing = runner.invoke(cli_app, ["share", "acme", "--version", "7"])
    assert missing.exit_code == 1 and "No published packet 7" in missing.output
    nothing = runner.invoke(cli_app, ["share", "nosuch"])
    assert nothing.exit_code == 1 and "No account 'nosuch'" in nothing.output


def test_tokens_never_reach_the_access_log(shared: str) -> None:
    # uvicorn's access log record: (client, method, path with query, http version, status)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.9:5123", "GET", f"/s/{shared}/packet.pdf?x=1", "1.1", 200),
        None,
    )
    assert RedactShareTokens().filter(record)
    line = record.getMessage()
    assert shared not in line
    assert '"GET /s/[token]/packet.pdf?x=1 HTTP/1.1" 200' in line
    assert any(
        isinstance(f, RedactShareTokens) for f in logging.getLogger("uvicorn.access").filters
    )


def test_a_race_with_the_csm_is_written_again_or_refused(
    store: Store, shared: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    import clerk.review.shares as shares

    real, calls = shares._store_answers, []

    def racing(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StaleDataError("a CSM saved the item at the same moment")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shares, "_store_answers", racing)
    answer = Submission("Priya Raman", "priya@acme.example", {"pi_acme_hours": ("confirm", "")})
    record_responses(store, shared, answer)
    with store.session() as session:
        assert len(session.scalars(select(ShareResponseRow)).all()) == 1

    def always(*args: object, **kwargs: object) -> None:
        raise StaleDataError("again")

    monkeypatch.setattr(shares, "_store_answers", always)
    with pytest.raises(review.InvalidDecision, match="kept changing"):
        record_responses(store, shared, answer)
