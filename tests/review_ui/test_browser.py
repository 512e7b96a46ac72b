"""The review UI in Debian's Chromium, driven by Playwright over a real uvicorn server.

Over the real demo (the example ingested and swept): sign in, review the queue with the
keyboard (approve, edit, reject), lose a race to another reviewer and reload, publish the
packet and download it as PDF. With CLERK_SCREENSHOTS=<folder> it also writes queue.png and
packet.png (the PDF's first page) there; otherwise nothing leaves the test's tmp_path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from clerk.store import Store
from review_ui import create_app
from tests.review_ui import factory
from tests.review_ui.conftest import DEMO_PASSWORDS, build_demo

pytestmark = pytest.mark.browser

# Screenshots for the docs are written only on request:
#   CLERK_SCREENSHOTS=docs/img .venv/bin/pytest -m browser
SCREENSHOTS = os.environ.get("CLERK_SCREENSHOTS")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS = '<script>window.__xss = "ran"</script>'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(store: Store) -> Iterator[str]:
    """The review app over ``store`` on a free loopback port, for the test's duration."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def server(store: Store) -> Iterator[str]:
    build_demo(store)
    # dana's second account: a ticket whose text is an HTML script, cited by a draft.
    factory.add_account(store, "contoso", "dana@vendor.example")
    text = f"Re: export {XSS}\n\nSince the fix we closed the June books in six days."
    factory.add_source(store, "contoso", "ticket:777#1", text, customer=(0, len(text)))
    factory.add_item(
        store,
        factory.statement_item(
            "contoso", "ticket:777#1", text, "we closed the June books in six days"
        ),
    )
    yield from serve_in_thread(store)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CLERK_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is not installed at /usr/bin/chromium (run .ci/services.sh)")
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _sign_in(browser: Browser, base: str, email: str) -> Page:
    context = browser.new_context(
        viewport={"width": 1360, "height": 960},
        accept_downloads=True,
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{base}/accounts/northwind")
    expect(page).to_have_url(f"{base}/login?next=/accounts/northwind")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORDS[email])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/accounts/northwind")
    return page


def _card(page: Page, title: str) -> Locator:
    # by the card's title (its aria-label starts with it), not by text any card may quote
    return page.locator(f'#queue article.item[aria-label^="{title}:"]')


def _save(path: Path, data: bytes) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / path.name).write_bytes(data)


def test_review_with_the_keyboard_conflict_publish_and_pdf(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    page = _sign_in(browser, server, "dana@vendor.example")
    other = _sign_in(browser, server, "morgan@vendor.example")  # loads the same queue now

    expect(page.locator("#queue article.item")).to_have_count(5)
    expect(page.locator("mark", has_text="we closed the June books in six days")).to_be_visible()

    # ? shows the keys; Escape closes it
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#keys-help")).to_be_hidden()

    # a: approve the first item (hours saved); the cursor moves on to the next one
    hours = _card(page, "Hours saved on invoice approvals")
    expect(hours).to_have_class("item status-pending current")
    page.keyboard.press("a")
    expect(hours).to_contain_text("Approved by dana@vendor.example")
    cost = _card(page, "Labour cost recovered")
    expect(cost).to_have_class("item status-pending current")

    # e: edit the claim; a number the evidence does not hold is refused until asserted
    page.keyboard.press("e")
    claim = cost.locator("textarea[name=claim]")
    expect(claim).to_be_focused()
    claim.fill("Automation recovered $61,000 of labour cost in Q2 2026.")
    page.keyboard.press("Control+Enter")
    expect(cost).to_contain_text("number $61,000 in the claim is not grounded")
    claim.fill("Automation recovered $59,400 of labour cost in Q2 2026, against $54,000 promised.")
    page.keyboard.press("Control+Enter")
    expect(cost).to_contain_text("Edited by dana@vendor.example")
    expect(cost).to_contain_text("Clerk's draft:")

    # mid-review: two decided cards, the customer's words highlighted in their source
    expect(_card(page, "Days to close the books")).to_have_class("item status-pending current")
    page.evaluate("window.scrollTo(0, 0)")
    _save(Path("queue.png"), page.screenshot())

    # j then r: reject the usage-proxy item with a reason from the list
    page.keyboard.press("j")
    approvers = _card(page, "Approvers working in the product")
    expect(approvers).to_have_class("item status-pending current")
    page.keyboard.press("r")
    expect(approvers.locator("select[name=reason]")).to_be_focused()
    approvers.locator("select[name=reason]").select_option("other")
    approvers.locator("input[name=note]").fill("Activity, not value: keep it out of the packet")
    approvers.locator("input[name=note]").press("Enter")
    expect(approvers).to_contain_text("Rejected: Other: Activity, not value")

    # the cursor skipped to the payback, the next item waiting; k k back to the statement
    payback = _card(page, "Payback")
    expect(payback).to_have_class("item status-pending current")
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(_card(page, "Days to close the books")).to_have_class("item status-pending current")
    page.keyboard.press("a")
    expect(_card(page, "Days to close the books")).to_contain_text("Approved by dana")
    expect(payback).to_have_class("item status-pending current")
    page.keyboard.press("a")
    expect(payback).to_contain_text("Approved by dana")

    # morgan's page still shows the payback as pending: his approve loses the race
    stale = _card(other, "Payback")
    stale.locator("button[data-action=approve]").click()
    conflict = other.locator("article.conflict")
    expect(conflict).to_contain_text("Changed by dana@vendor.example at")
    expect(conflict).to_contain_text("reload")
    conflict.locator("button", has_text="Reload").click()
    expect(_card(other, "Payback")).to_contain_text("Approved by dana@vendor.example")

    # the audit trail is on each item
    hours.locator("details.audit summary").click()
    expect(hours.locator("details.audit")).to_contain_text("dana@vendor.example approve")

    # publish, then download version 1 as PDF
    page.click("text=Packet →")
    page.click("#publish")
    expect(page.locator(".notice")).to_contain_text("Published version 1")
    # the page now shows version 1 as published; a new draft is an explicit step
    expect(page.locator("#packet-state")).to_have_text("Version 1 — published")
    expect(page.locator("#new-draft")).to_have_text("Start a new draft (version 2)")
    assert page.locator("#download-pdf").get_attribute("href").endswith("packet.pdf?version=1")
    with page.expect_download() as download:
        page.click("#version-1 a[data-format=pdf]")
    pdf = tmp_path / "packet.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(tmp_path / "packet"),
            ],
            check=True,
        )
        _save(Path("packet.png"), (tmp_path / "packet.png").read_bytes())
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        text = " ".join(text.split())
        assert "Automation recovered $59,400" in text
        assert "Approvers working in the product has not yet reached its target" in text
        assert "dana@vendor.example" not in text  # the customer packet names no owner
        assert "Activity, not value" not in text  # rejected items never reach the packet

    # a <script> in a ticket shows as text and never runs
    page.goto(f"{server}/accounts/contoso")
    expect(page.locator(".source-text")).to_contain_text(XSS)
    assert page.evaluate("window.__xss") is None
