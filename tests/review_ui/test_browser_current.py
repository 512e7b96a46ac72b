"""In Chromium: approved proof stays proven after new evidence and a later sweep, the period
selector, and the manager grid over generated accounts.

With CLERK_SCREENSHOTS=<folder> it writes period-selector.png, manager-grid.png (200 generated
accounts; otherwise a dozen, to stay quick) and packet-page1.png (the customer PDF's first page
with its charts) there; otherwise nothing leaves the test's tmp_path.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from clerk.demo import DEMO_DATA, prepare_demo
from clerk.ingest import run_ingest
from clerk.review.users import add_user
from clerk.store import Store
from clerk.sweep.run import run_sweep
from tests.review_ui.conftest import DEMO_PASSWORDS
from tests.review_ui.test_browser import SCREENSHOTS, _save, _sign_in, browser, serve_in_thread

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the Chromium fixture, shared with test_browser

LATER_NOTE = """---
date: 2026-07-03
author: priya@northwind.example
kind: email
---
Thanks Dana. The approvers like the new flow and we want the summary for Tom next week.
"""


def _off_the_loop(fn: Callable[[], object]) -> None:
    """Run ingest or a sweep in a worker thread: Playwright's sync API owns this thread's
    event loop, and the sweep starts its own."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


@pytest.fixture
def demo_server(store: Store) -> Iterator[str]:
    assert prepare_demo(store, sync_index=False).exit_code == 0
    run_sweep(store, as_of=dt.date(2026, 7, 1))
    for email, role in (("dana@vendor.example", "csm"), ("morgan@vendor.example", "manager")):
        add_user(store, email, role, DEMO_PASSWORDS[email])
    yield from serve_in_thread(store)


def test_approved_proof_stays_proven_after_new_evidence_and_a_later_sweep(
    demo_server: str, browser: Browser, store: Store, tmp_path: Path
) -> None:
    page = _sign_in(browser, demo_server, "dana@vendor.example")
    stats = page.locator("#account-stats")
    expect(page.locator("#queue-count")).to_have_text("5")
    page.check("#select-all")
    page.click("#bulk-approve")
    # the counters follow the decision without a reload
    expect(page.locator("#queue-count")).to_have_text("0")
    expect(stats).to_contain_text("100%")
    page.reload()
    expect(page.locator("#reviewed-count")).to_have_text("5")
    expect(page.locator("#reviewed article.item")).to_have_count(5)

    # new evidence two days later, then the weekly sweep at a later date
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA, data)
    (data / "accounts/northwind/notes/2026-07-03-email.md").write_text(LATER_NOTE)
    _off_the_loop(lambda: run_ingest(data, store))
    _off_the_loop(lambda: run_sweep(store, as_of=dt.date(2026, 7, 8)))

    page.reload()
    expect(stats).to_contain_text("100%")
    expect(page.locator("#reviewed-count")).to_have_text("5")
    expect(page.locator("#period-select option")).to_have_count(1)
    expect(page.locator("#period-select")).to_contain_text("Q2 2026 (latest)")

    # the packet page says the same: 3 on target, 1 short, none missing
    page.click("text=Packet →")
    frame = page.frame_locator("iframe.packet-frame")
    expect(frame.locator(".headline")).to_contain_text("3 of 4 promised outcomes proven")
    expect(frame.locator(".headline")).not_to_contain_text("not yet proven")
    expect(frame.locator("svg.trend")).to_have_count(3)

    # and the manager grid
    boss = _sign_in(browser, demo_server, "morgan@vendor.example")
    boss.goto(f"{demo_server}/manager")
    row = boss.locator("tr", has=boss.locator('code.account-id:text-is("northwind")'))
    expect(row.locator("a.cell-proven")).to_have_count(4)

    # a Q3 sweep adds a period: the selector lists both, newest first, and reads Q2 back
    _off_the_loop(lambda: run_sweep(store, as_of=dt.date(2026, 10, 2)))
    page.goto(f"{demo_server}/accounts/northwind")
    expect(page.locator("#period-select option")).to_have_count(2)
    expect(stats).to_contain_text("0%")
    page.select_option("#period-select", label="Q2 2026")
    expect(page).to_have_url(f"{demo_server}/accounts/northwind?as_of=2026-07-08")
    expect(stats).to_contain_text("100%")
    page.focus("#period-select")
    _save(
        Path("period-selector.png"),
        page.screenshot(clip={"x": 0, "y": 0, "width": 1360, "height": 420}),
    )

    # the customer PDF of Q2: its first page holds the summary and the charts
    page.goto(f"{demo_server}/accounts/northwind/packet?as_of=2026-07-08")
    with page.expect_download() as download:
        page.click("#download-pdf")
    pdf = tmp_path / "packet.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        first = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        first = " ".join(first.split())
        assert "Promised vs delivered" in first
        assert "Delivered against target, last reporting periods" in first
        assert "dana@vendor.example" not in first
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf),
             str(tmp_path / "page1")],
            check=True,
        )  # fmt: skip
        _save(Path("packet-page1.png"), (tmp_path / "page1.png").read_bytes())


@pytest.fixture
def generated_server(store: Store, tmp_path: Path) -> Iterator[str]:
    from evals.generator import generate

    accounts = 200 if SCREENSHOTS else 12
    generate(tmp_path / "gen", accounts, seed=7, as_of=dt.date(2026, 7, 1))
    run_ingest(tmp_path / "gen", store)
    run_sweep(store, as_of=dt.date(2026, 7, 1))
    add_user(store, "morgan@vendor.example", "manager", DEMO_PASSWORDS["morgan@vendor.example"])
    add_user(store, "dana@vendor.example", "csm", DEMO_PASSWORDS["dana@vendor.example"])
    yield from serve_in_thread(store)


def test_manager_grid_over_generated_accounts(generated_server: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 960})
    page = context.new_page()
    page.goto(f"{generated_server}/login?next=/manager")
    page.fill("input[name=email]", "morgan@vendor.example")
    page.fill("input[name=password]", DEMO_PASSWORDS["morgan@vendor.example"])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{generated_server}/manager")
    width, room = page.evaluate(
        "[document.querySelector('.grid-wrap').scrollWidth,"
        " document.querySelector('.grid-wrap').clientWidth]"
    )
    assert width <= room, f"the grid is {width} px wide in {room} px: it scrolls sideways"
    first = page.locator("table.grid tbody tr").first
    expect(first.locator("code.account-id")).to_be_visible()
    _save(Path("manager-grid.png"), page.screenshot())
    cell = first.locator("a.cell").first
    href = cell.get_attribute("href")
    assert href is not None and "?outcome=" in href
    title = (cell.get_attribute("title") or "").split(":")[0]
    cell.click()
    expect(page.locator(".outcome-filter")).to_contain_text(f"Showing {title} only")


def test_a_long_queue_pages_through_next_and_previous_in_the_browser(
    store: Store, browser: Browser
) -> None:
    """Northwind with 60 more pending drafts (copies of its own): the queue shows 50 a page,
    the pager's Next and Previous links walk it, and the outcome filter survives the walk."""
    from sqlalchemy import select

    from clerk.store.tables import ProofItemRow

    def setup() -> None:
        assert prepare_demo(store, sync_index=False).exit_code == 0
        run_sweep(store, as_of=dt.date(2026, 7, 1))

    _off_the_loop(setup)  # Playwright's sync API owns this thread's event loop
    add_user(store, "dana@vendor.example", "csm", DEMO_PASSWORDS["dana@vendor.example"])
    with store.session() as session:
        model = session.scalars(
            select(ProofItemRow).where(
                ProofItemRow.account_id == "northwind",
                ProofItemRow.status == "pending",
                ProofItemRow.kind == "calculation",
            )
        ).first()
        assert model is not None
        outcome = model.outcome_id
        for k in range(60):
            copy_id = f"pi_copy{k:011d}"
            session.add(
                ProofItemRow(
                    **{
                        c.key: getattr(model, c.key)
                        for c in ProofItemRow.__table__.columns
                        if c.key not in ("id", "payload", "evidence_key", "version")
                    },
                    id=copy_id,
                    evidence_key=f"copy{k}",
                    payload={**model.payload, "id": copy_id},
                )
            )
    server = serve_in_thread(store)
    base = next(server)
    try:
        page = _sign_in(browser, base, "dana@vendor.example")
        expect(page.locator("#queue-count")).to_have_text("65")
        expect(page.locator("#queue article.item")).to_have_count(50)
        expect(page.locator(".pager").first).to_contain_text("Page 1 of 2")
        page.locator(".pager a[rel=next]").first.click()
        expect(page).to_have_url(f"{base}/accounts/northwind?page=2")
        expect(page.locator("#queue article.item")).to_have_count(15)
        page.locator(".pager a[rel=prev]").first.click()
        expect(page.locator("#queue article.item")).to_have_count(50)
        # Narrowed to one outcome, the links keep the filter.
        page.goto(f"{base}/accounts/northwind?outcome={outcome}")
        count = int(page.locator("#queue-count").inner_text())
        assert count > 50
        page.locator(".pager a[rel=next]").first.click()
        expect(page).to_have_url(f"{base}/accounts/northwind?outcome={outcome}&page=2")
        expect(page.locator("#queue article.item")).to_have_count(count - 50)
    finally:
        next(server, None)
