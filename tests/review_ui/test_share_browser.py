"""The champion's side in Chromium (issue 16): share, answer from the link, see it come back.

Over the real demo: dana approves three items and publishes, makes a share link; the champion
opens it in a browser with no vendor session, confirms two items and questions one; the
question is in dana's queue, the manager's grid says "customer confirmed", version 2 carries
the confirmations, and the revoked link shows nothing. With CLERK_SCREENSHOTS=<folder> it
writes share.png (the champion's page) and grid.png (the team view) there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.review_ui.test_browser import (  # noqa: F401 - fixtures used by name
    _card,
    _save,
    _sign_in,
    browser,
    server,
)

pytestmark = pytest.mark.browser

QUESTION = "The labour rate is our 2025 rate; finance uses $48 an hour now."


def test_the_champion_confirms_and_questions_from_the_link(
    server: str,  # noqa: F811 - the fixture imported above
    browser: Browser,  # noqa: F811
) -> None:
    dana = _sign_in(browser, server, "dana@vendor.example")
    for title in (
        "Hours saved on invoice approvals",
        "Labour cost recovered",
        "Days to close the books",
    ):
        card = _card(dana, title)
        card.locator("button[data-action=approve]").click()
        expect(dana.locator(f'article.item[aria-label^="{title}:"]')).to_contain_text(
            "Approved by dana@vendor.example"
        )

    # publish version 1 and share it from the packet page
    dana.goto(f"{server}/accounts/northwind/packet")
    dana.click("#publish")
    expect(dana.locator(".notice")).to_contain_text("Published version 1")
    dana.click("#share")
    url = dana.locator("#share-url").input_value()
    assert url.startswith("http://127.0.0.1:8000/s/")  # CLERK_PUBLIC_URL's default
    link = server + url.removeprefix("http://127.0.0.1:8000")

    # the champion: a fresh browser context, no vendor session
    champion = browser.new_context(viewport={"width": 1360, "height": 960}).new_page()
    champion.set_default_timeout(20_000)
    champion.goto(link)
    expect(champion.locator("h1")).to_contain_text("Northwind Logistics")
    expect(champion.locator(".topbar")).not_to_contain_text("dana@vendor.example")
    frame = champion.frame_locator("iframe.packet-frame")
    expect(frame.locator("h1")).to_contain_text("Northwind Logistics")
    expect(frame.locator("body")).not_to_contain_text("@vendor.example")

    def answer(title: str) -> object:
        return champion.locator(f'fieldset.answer[data-title="{title}"]')

    answer("Hours saved on invoice approvals").locator("input[value=confirm]").check()
    answer("Days to close the books").locator("input[value=confirm]").check()
    cost = answer("Labour cost recovered")
    cost.locator("input[value=question]").check()
    cost.locator("textarea").fill(QUESTION)
    champion.fill("textarea[name=overall]", "Thanks, this is what our CFO asked for.")
    champion.fill("input[name=name]", "Priya Raman")
    champion.fill("input[name=email]", "priya@northwind.example")
    champion.click("#send")
    expect(champion.locator(".notice")).to_contain_text("your answers were sent")
    expect(answer("Hours saved on invoice approvals")).to_contain_text(
        "Confirmed by Priya Raman on"
    )
    expect(cost).to_contain_text(f"Questioned by Priya Raman: {QUESTION}")
    champion.evaluate("window.scrollTo(0, 0)")
    _save(Path("share.png"), champion.screenshot())
    with champion.expect_download() as download:
        champion.click("#pdf")
    assert download.value.suggested_filename.endswith("-v1.pdf")

    # dana: the questioned item is back in her queue, with the question
    dana.goto(f"{server}/accounts/northwind")
    questioned = _card(dana, "Labour cost recovered")
    expect(questioned).to_contain_text(f"Questioned by Priya Raman: {QUESTION}")
    questioned.locator("details.audit summary").click()
    expect(questioned.locator("details.audit")).to_contain_text(
        "customer: Priya Raman <priya@northwind.example> customer question"
    )

    # the manager's grid: two outcomes confirmed by the customer
    morgan = _sign_in(browser, server, "morgan@vendor.example")
    morgan.goto(f"{server}/manager")
    row = morgan.locator("table.grid tr", has_text="Northwind Logistics")
    expect(row.locator("a.cell-confirmed")).to_have_count(2)
    expect(row.locator("a.cell-confirmed").first).to_contain_text("customer confirmed")
    _save(Path("grid.png"), morgan.screenshot(full_page=True))

    # version 2 carries the confirmations
    dana.goto(f"{server}/accounts/northwind/packet")
    dana.click("#publish")
    expect(dana.locator(".notice")).to_contain_text("Published version 2")
    dana.goto(f"{server}/accounts/northwind/packet.html?version=2")
    expect(dana.locator(".confirmed")).to_have_count(2)
    expect(dana.locator(".confirmed").first).to_contain_text("Confirmed by Priya Raman on")

    # revoke: the champion's link shows nothing any more
    dana.goto(f"{server}/accounts/northwind/packet")
    dana.click("button[data-revoke]")
    expect(dana.locator(".notice")).to_contain_text("revoked")
    response = champion.goto(link)
    assert response is not None and response.status == 404
    expect(champion.locator("#dead")).to_have_text(
        "This link was revoked. Ask your contact for a new one."
    )
    expect(champion.locator("body")).not_to_contain_text("Northwind")
