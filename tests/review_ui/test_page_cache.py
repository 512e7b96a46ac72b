"""The account page's caches (review_ui.cards, review_ui.page_cache) never show stale or
someone else's data: two apps over one store stand for two uvicorn workers."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from sqlalchemy import select, update

from clerk.review import decisions as review
from clerk.review.current import latest_as_of
from clerk.review.shares import Submission, create_share, record_responses
from clerk.review.users import User
from clerk.store import Store
from clerk.store.tables import ProofItemRow, SourceRow
from review_ui import create_app
from review_ui.cards import CardCache
from review_ui.page_cache import PageCache, newest_date, page_fingerprint
from tests.review_ui.conftest import QUOTE, Client, Seeded, login, seed, text_of
from tests.review_ui.test_share import ADMIN, _ready

HX = {"HX-Request": "true"}


def _queue(html: str) -> str:
    return text_of(html.split('id="queue"', 1)[1].split('class="gaps"', 1)[0])


def _reviewed(html: str) -> str:
    return text_of(html.split('id="reviewed"', 1)[1])


def _warm(app: FastAPI, client: Client, path: str = "/accounts/acme") -> str:
    """Load a page twice, the second time from the worker's caches."""
    first = client.get(path)
    pages: PageCache = app.state.page_cache
    hits = pages.hits
    second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert pages.hits == hits + 1  # really served from the worker's cache
    return second.text


def _approve_then_reload(a: Client, b: Client, item: str) -> str:
    """Approve ``item`` through worker A; the account page as worker B loads it next."""
    approved = a.post(
        f"/items/{item}/approve", data={"version": 1}, headers={**HX, "X-CSRF-Token": a.csrf}
    )
    assert approved.status_code == 200
    return b.get("/accounts/acme").text


def test_a_decision_through_one_worker_shows_on_the_next_load_through_another(
    store: Store, seeded: Seeded
) -> None:
    worker_a, worker_b = create_app(store), create_app(store)
    with login(worker_a, "dana@vendor.example") as a, login(worker_b, "dana@vendor.example") as b:
        before = _warm(worker_b, b)
        assert "1,320 hours saved on approvals in Q2 2026" in _queue(before)
        assert "No decisions yet." in _reviewed(before)

        after = _approve_then_reload(a, b, seeded.calc)
        assert "1,320 hours saved on approvals" not in _queue(after)
        assert "Approved by dana@vendor.example" in _reviewed(after)
        assert "History (1)" in _reviewed(after)

        # an edit (a new claim on the same item) through worker A, seen through warm B
        _warm(worker_b, b)
        review.reopen(store, seeded.calc, actor=ADMIN, version=2, reason="reword")
        review.edit(
            store,
            seeded.calc,
            actor=ADMIN,
            version=3,
            claim="About 1,320 hours saved on approvals in Q2 2026",
        )
        edited = b.get("/accounts/acme").text
        assert "About 1,320 hours saved on approvals in Q2 2026" in _reviewed(edited)
        assert "History (3)" in _reviewed(edited)


def test_a_customer_answer_shows_on_a_warm_page(store: Store, seeded: Seeded) -> None:
    _ready(store)
    token, _ = create_share(store, "acme", actor=ADMIN)
    app = create_app(store)
    with login(app, "dana@vendor.example") as dana:
        assert "Questioned by" not in _warm(app, dana)
        record_responses(
            store,
            token,
            Submission(
                "Priya Raman",
                "priya@acme.example",
                {"pi_acme_close": ("question", "Seven days, not six.")},
            ),
        )
        page = dana.get("/accounts/acme").text
        assert "Questioned by Priya Raman: Seven days, not six." in _queue(page)


def test_a_re_ingested_source_shows_in_the_evidence_of_a_warm_page(
    store: Store, seeded: Seeded
) -> None:
    app = create_app(store)
    with login(app, "dana@vendor.example") as dana:
        assert "first time ever" in _queue(_warm(app, dana))
        # what an ingest of an edited ticket does: new text, new content hash, new time
        with store.session() as session:
            row = session.scalars(select(SourceRow).where(SourceRow.id == "ticket:acme-7#1")).one()
            row.text = row.text.replace("first time ever", "a record for the team")
            row.content_hash = "edited"
            row.updated_at = row.updated_at.replace(year=row.updated_at.year + 1)
        queue = _queue(dana.get("/accounts/acme").text)
        assert "a record for the team" in queue and "first time ever" not in queue
        assert QUOTE in queue


def test_a_warm_page_carries_each_viewer_token_and_checks_each_viewer_access(
    app: FastAPI, seeded: Seeded
) -> None:
    with (
        login(app, "dana@vendor.example") as dana,
        login(app, "mia@vendor.example") as mia,
        login(app, "olga@vendor.example") as olga,
    ):
        warm = _warm(app, dana)
        assert dana.csrf and dana.csrf != mia.csrf
        page = mia.get("/accounts/acme").text
        tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
        assert tokens == {mia.csrf}  # every form of every card: the viewer's own token
        assert dana.csrf not in page
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', warm)) == {dana.csrf}
        # the cached page is no way round the access check
        assert olga.get("/accounts/acme").status_code == 403
        assert dana.get("/accounts/globex").status_code == 403
        globex = text_of(olga.get("/accounts/globex").text)
        assert "Globex" in globex and "Acme" not in globex


def test_the_caches_are_bounded(app: FastAPI, dana: Client, seeded: Seeded) -> None:
    cards = CardCache(app.state.templates.env, max_bytes=1)
    pages = PageCache(max_pages=1)
    app.state.templates.env.globals["card_cache"] = cards
    app.state.page_cache = pages
    assert dana.get("/accounts/acme").status_code == 200
    assert len(cards) <= 1 and len(pages) == 1
    assert dana.get("/accounts/acme?page=2").status_code == 200
    assert len(pages) == 1


def test_a_card_holds_the_slot_never_a_token(app: FastAPI, dana: Client, seeded: Seeded) -> None:
    cards: CardCache = app.state.templates.env.globals["card_cache"]
    dana.get("/accounts/acme")
    stored = list(cards._cards.values())
    assert stored and all(
        cards.slot.encode() in html and dana.csrf.encode() not in html for html in stored
    )


def test_a_warm_page_shows_each_role_its_own_actions(app: FastAPI, seeded: Seeded) -> None:
    """Only a manager may dismiss a gap flag: a CSM's warm page never gives a manager's
    content to a CSM, nor the other way round."""
    with login(app, "dana@vendor.example") as dana, login(app, "mia@vendor.example") as mia:
        assert "/dismiss" not in _warm(app, dana)
        assert f"/gaps/{seeded.gap}/dismiss" in mia.get("/accounts/acme").text
        assert f"/gaps/{seeded.gap}/dismiss" in _warm(app, mia)
        assert "/dismiss" not in dana.get("/accounts/acme").text


def test_a_decision_shows_on_a_warm_page_on_sqlite_and_postgresql(any_store: Store) -> None:
    """The fingerprint query (scalar subqueries over six tables) on both databases."""
    seeded = seed(any_store)
    worker_a, worker_b = create_app(any_store), create_app(any_store)
    with login(worker_a, "dana@vendor.example") as a, login(worker_b, "dana@vendor.example") as b:
        assert "1,320 hours saved on approvals" in _queue(_warm(worker_b, b))
        after = _approve_then_reload(a, b, seeded.calc)
        assert "1,320 hours saved on approvals" not in _queue(after)
        assert "Approved by dana@vendor.example" in _reviewed(after)
        assert b.get("/accounts/nope").status_code == 404


def test_the_page_date_read_with_the_fingerprint_is_the_newest_sweep_or_confirmation(
    any_store: Store,
) -> None:
    """The page's default date comes from its fingerprint query: it must be the date every
    other reader defaults to (``latest_as_of``), also when a confirmation is newer than the
    newest sweep, on both databases."""
    seed(any_store)
    manager = User("mia@vendor.example", "manager")
    with any_store.session() as session:
        fingerprint, row = page_fingerprint(session, "acme", manager, load_account=True)
        assert row is not None and row.id == "acme"
        newest = latest_as_of(session, "acme")
        assert newest is not None and newest_date(fingerprint) == newest
        later = newest + dt.timedelta(days=40)
        session.execute(
            update(ProofItemRow)
            .where(ProofItemRow.account_id == "acme")
            .values(last_confirmed=later)
        )
        session.flush()
        fingerprint, _ = page_fingerprint(session, "acme", manager)
        assert latest_as_of(session, "acme") == later == newest_date(fingerprint)


def test_a_card_evicted_from_the_cache_no_longer_counts_as_held(
    app: FastAPI, dana: Client, seeded: Seeded
) -> None:
    """A page none of whose items has a card here reads the sources once (text and hashes
    together); after eviction it must take that path and still show the evidence."""
    cards = CardCache(app.state.templates.env, max_bytes=1)
    app.state.templates.env.globals["card_cache"] = cards
    first = dana.get("/accounts/acme")
    assert first.status_code == 200 and f"<mark>{QUOTE}</mark>" in first.text
    # one byte: every card is dropped as soon as it is stored
    assert len(cards) == 0
    assert not cards.holds_any([seeded.calc, seeded.statement, seeded.unverified])
    app.state.page_cache = PageCache()
    again = dana.get("/accounts/acme")
    assert again.status_code == 200 and f"<mark>{QUOTE}</mark>" in again.text
