"""The review queue a page at a time: an account with many pending drafts (issue 17)."""

from __future__ import annotations

import re
import time

from clerk.store import Store
from review_ui.queries import QUEUE_PAGE_SIZE
from tests.review_ui import factory
from tests.review_ui.conftest import Client


def _add_pending(store: Store, n: int) -> None:
    """``n`` more pending calculation drafts on acme, half of them on each outcome."""
    for k in range(n):
        outcome = ("hours_saved", "close_days")[k % 2]
        factory.add_item(
            store,
            factory.calc_item("acme", f"pi_acme_many_{k:04d}", outcome=outcome),
        )


def _cards(html: str) -> list[str]:
    return re.findall(r'id="item-(pi_[\w]+)"', html)


def _links(html: str) -> dict[str, str]:
    pager = html.split('class="pager', 1)[1].split("</nav>", 1)[0]
    return {
        rel: href.replace("&amp;", "&")
        for href, rel in re.findall(r'href="([^"]+)" rel="(\w+)"', pager)
    }


def test_a_long_queue_is_paginated_and_the_links_walk_it(dana: Client, store: Store) -> None:
    _add_pending(store, 120)  # + the seed's 3 = 123 to review
    first = dana.get("/accounts/acme")
    assert first.status_code == 200
    assert re.search(r'id="queue-count">123<', first.text)
    assert len(_cards(first.text)) == QUEUE_PAGE_SIZE
    assert f"Page 1 of 3 · items 1–{QUEUE_PAGE_SIZE} of 123" in first.text
    links = _links(first.text)
    assert "prev" not in links and links["next"] == "/accounts/acme?page=2"

    seen = set(_cards(first.text))
    page = first
    while "next" in _links(page.text):
        page = dana.get(_links(page.text)["next"])
        assert page.status_code == 200
        seen |= set(_cards(page.text))
    assert "Page 3 of 3 · items 101–123 of 123" in page.text
    assert len(seen) == 123  # every pending item is on exactly one page
    assert _links(page.text)["prev"] == "/accounts/acme?page=2"
    # Past the last page: the last page, not an error or an empty queue.
    assert "Page 3 of 3" in dana.get("/accounts/acme?page=99").text
    assert dana.get("/accounts/acme?page=0").status_code == 422


def test_page_links_keep_the_outcome_and_period_filters(dana: Client, store: Store) -> None:
    _add_pending(store, 120)
    page = dana.get("/accounts/acme?as_of=2026-07-01&outcome=close_days")
    assert page.status_code == 200
    # 60 close_days drafts plus the seed's statement: 61 to review for this outcome.
    assert re.search(r'id="queue-count">61<', page.text)
    links = _links(page.text)
    assert links["next"] == "/accounts/acme?as_of=2026-07-01&outcome=close_days&page=2"
    second = dana.get(links["next"])
    assert "Page 2 of 2 · items 51–61 of 61" in second.text
    assert all(re.search(rf'id="item-{c}"', second.text) for c in _cards(second.text))
    assert "pi_acme_many_0000" not in second.text  # an hours_saved draft: filtered out


def test_a_short_queue_has_no_pager(dana: Client) -> None:
    page = dana.get("/accounts/acme")
    assert 'class="pager' not in page.text
    assert len(_cards(page.text)) == 3


def test_the_api_still_lists_every_pending_item(dana: Client, store: Store) -> None:
    _add_pending(store, 120)
    listed = dana.get("/api/accounts/acme/items").json()
    assert (
        len([i for i in listed["proof_items"] if i["status"] in ("pending", "unverified")]) == 123
    )


def test_one_account_with_1000_pending_items_renders_in_under_300_ms(
    dana: Client, store: Store
) -> None:
    _add_pending(store, 1000)
    dana.get("/accounts/acme")  # templates compiled, caches warm
    spent = []
    for _ in range(3):
        started = time.perf_counter()
        page = dana.get("/accounts/acme?page=2")
        spent.append(time.perf_counter() - started)
        assert page.status_code == 200 and len(_cards(page.text)) == QUEUE_PAGE_SIZE
    # Generous for a shared test machine; the bench measures the real figure.
    assert min(spent) < 1.0
