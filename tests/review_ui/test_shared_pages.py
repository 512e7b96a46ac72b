"""Account pages shared by the workers of one deployment (review_ui.shared_pages): a page
rendered by worker A is served by worker B, never stale, never with A's viewer's token or
controls, and the folder stays bounded. Two apps over one store and one CLERK_HOME stand for
two uvicorn workers."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from fastapi import FastAPI

from clerk.review import decisions as review
from clerk.store import Store
from review_ui import create_app
from review_ui.page_cache import PageCache
from review_ui.shared_pages import SharedPages
from tests.review_ui.conftest import Client, Seeded, login, seed, text_of
from tests.review_ui.test_page_cache import _approve_then_reload, _queue, _reviewed
from tests.review_ui.test_share import ADMIN

TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')


def _shared(app: FastAPI) -> SharedPages:
    shared = app.state.page_cache.shared
    assert isinstance(shared, SharedPages)
    return shared


def _pages(app: FastAPI) -> list[Path]:
    return sorted(_shared(app).folder.glob("*.page"))


def _from_the_other_worker(app: FastAPI, client: Client, path: str = "/accounts/acme") -> str:
    """Load ``path`` through a worker that has never rendered it: from the shared file."""
    shared = _shared(app)
    hits, misses = shared.hits, app.state.templates.env.globals["card_cache"].misses
    page = client.get(path)
    assert page.status_code == 200
    assert shared.hits == hits + 1  # read from the file worker A wrote
    assert app.state.templates.env.globals["card_cache"].misses == misses  # nothing rendered
    return page.text


def test_a_page_rendered_by_one_worker_is_served_by_another_with_its_viewer_token(
    store: Store, seeded: Seeded, clerk_home: Path
) -> None:
    worker_a, worker_b = create_app(store), create_app(store)
    with login(worker_a, "dana@vendor.example") as a, login(worker_b, "dana@vendor.example") as b:
        rendered = a.get("/accounts/acme").text
        assert _pages(worker_a) and str(_shared(worker_a).folder).startswith(str(clerk_home))
        served = _from_the_other_worker(worker_b, b)
        assert text_of(served) == text_of(rendered)
        assert "1,320 hours saved on approvals in Q2 2026" in _queue(served)
        # every form carries B's viewer's token: never A's, never a placeholder
        assert set(TOKENS.findall(served)) == {b.csrf} and a.csrf != b.csrf
        assert a.csrf not in served
        for app in (worker_a, worker_b):
            assert app.state.page_cache.slot not in served
        # B's copy works: an approval from the page B served goes through
        approved = b.post(
            f"/items/{seeded.calc}/approve",
            data={"version": 1, "csrf_token": TOKENS.findall(served)[0]},
            headers={"HX-Request": "true"},
        )
        assert approved.status_code == 200


def test_a_shared_page_is_no_way_round_the_access_check_nor_the_role(
    store: Store, seeded: Seeded
) -> None:
    """A manager's page (with the dismiss control of a gap flag) shared by worker A never
    reaches a CSM through worker B, and a CSM of another account gets a 403, not the file."""
    worker_a, worker_b = create_app(store), create_app(store)
    with (
        login(worker_a, "mia@vendor.example") as mia,
        login(worker_b, "dana@vendor.example") as dana,
        login(worker_b, "olga@vendor.example") as olga,
    ):
        assert f"/gaps/{seeded.gap}/dismiss" in mia.get("/accounts/acme").text
        assert olga.get("/accounts/acme").status_code == 403
        csm_page = dana.get("/accounts/acme").text
        assert "/dismiss" not in csm_page and "Acme" in text_of(csm_page)
        assert _shared(worker_b).hits == 0  # the CSM's page is its own, rendered by B
        # an admin through a third worker gets the manager's page (the dismiss control),
        # not the CSM's page B shared last
        worker_c = create_app(store)
        with login(worker_c, "root@vendor.example") as root:
            assert f"/gaps/{seeded.gap}/dismiss" in _from_the_other_worker(worker_c, root)


@pytest.mark.parametrize("change", ["approve", "edit", "reject"])
def test_a_decision_through_one_worker_is_never_hidden_by_a_shared_page(
    any_store: Store, change: str
) -> None:
    """B holds the page it read from A's file; a decision through A (or made elsewhere)
    shows on B's next load, on SQLite and PostgreSQL."""
    seeded = seed(any_store)
    worker_a, worker_b = create_app(any_store), create_app(any_store)
    with login(worker_a, "dana@vendor.example") as a, login(worker_b, "dana@vendor.example") as b:
        a.get("/accounts/acme")
        assert "1,320 hours saved on approvals" in _queue(_from_the_other_worker(worker_b, b))
        if change == "approve":
            after = _approve_then_reload(a, b, seeded.calc)
            assert "Approved by dana@vendor.example" in _reviewed(after)
        elif change == "edit":
            review.edit(
                any_store,
                seeded.calc,
                actor=ADMIN,
                version=1,
                claim="About 1,320 hours saved on approvals in Q2 2026",
            )
            after = b.get("/accounts/acme").text
            assert "About 1,320 hours saved on approvals in Q2 2026" in _reviewed(after)
        else:
            review.reject(any_store, seeded.calc, actor=ADMIN, version=1, reason="wrong_number")
            after = b.get("/accounts/acme").text
            assert "Rejected by" in _reviewed(after)
        assert "1,320 hours saved on approvals in Q2 2026" not in _queue(after)
        # and worker A, which rendered the first page, shows the new state from B's file
        assert text_of(_from_the_other_worker(worker_a, a)) == text_of(after)


def test_an_expired_or_damaged_shared_page_is_rendered_afresh(store: Store, seeded: Seeded) -> None:
    worker_a, worker_b = create_app(store), create_app(store)
    with login(worker_a, "dana@vendor.example") as a, login(worker_b, "dana@vendor.example") as b:
        a.get("/accounts/acme")
        (page,) = _pages(worker_a)
        old = time.time() - _shared(worker_a).ttl - 1
        os.utime(page, (old, old))
        fresh = b.get("/accounts/acme")
        assert fresh.status_code == 200 and _shared(worker_b).hits == 0
        assert "1,320 hours saved on approvals" in _queue(fresh.text)
        # a file cut short, in its header or in its content, is a miss: neither an error
        # page nor half a page
        (page,) = _pages(worker_b)
        whole = page.read_bytes()
        for cut in (whole[:20], whole[:-200]):
            page.write_bytes(cut)
            worker_c = create_app(store)
            with login(worker_c, "dana@vendor.example") as c:
                page_c = c.get("/accounts/acme")
            assert page_c.status_code == 200 and _shared(worker_c).hits == 0
            assert "1,320 hours saved on approvals" in _queue(page_c.text)
            assert "No decisions yet." in _reviewed(page_c.text)
            assert page_c.text.rstrip().endswith("</html>")


def test_the_shared_pages_are_bounded_and_cleaned(
    store: Store, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("review_ui.shared_pages.SWEEP_EVERY", 1)  # clean after every write
    app = create_app(store)
    folder = _shared(app).folder
    app.state.page_cache = PageCache(
        shared=SharedPages(folder, 300.0, max_files=2, store=str(store.engine.url)),
        slot=app.state.page_cache.slot,
    )
    (folder / "left-by-a-crash.tmp").write_bytes(b"x")
    old = time.time() - 3600
    os.utime(folder / "left-by-a-crash.tmp", (old, old))
    with login(app, "mia@vendor.example") as mia:
        for path in ("/accounts/acme", "/accounts/acme?page=2", "/accounts/globex"):
            assert mia.get(path).status_code == 200
            assert len(_pages(app)) <= 2
        assert "Globex" in text_of(mia.get("/accounts/globex").text)
    assert not (folder / "left-by-a-crash.tmp").exists()
    # a byte bound too: one page is larger than 1,000 bytes, so none is kept
    app.state.page_cache.shared.max_bytes = 1000
    app.state.page_cache.shared.clean()
    assert _pages(app) == []


def test_no_shared_pages_when_clerk_home_cannot_hold_them(
    store: Store, seeded: Seeded, clerk_home: Path
) -> None:
    """A read-only home: each worker keeps its own pages, and the page still loads."""
    (clerk_home / "cache").write_text("not a folder")
    app = create_app(store)
    assert app.state.page_cache.shared is None
    with login(app, "dana@vendor.example") as dana:
        assert "1,320 hours saved on approvals" in _queue(dana.get("/accounts/acme").text)
