"""The review page's and the grid's rough edges from issue 14, as a reviewer meets them."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from clerk.review import decisions as review
from clerk.review.users import User
from clerk.store import Store
from clerk.store.tables import GapFlagRow
from tests.review_ui import factory
from tests.review_ui.conftest import Client, Seeded, text_of

HX = {"HX-Request": "true"}


def _count(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found is not None, element_id
    return found.group(1).strip()


def test_counters_follow_an_htmx_decision_out_of_band(dana: Client, seeded: Seeded) -> None:
    page = dana.get("/accounts/acme").text
    assert (_count(page, "queue-count"), _count(page, "reviewed-count")) == ("3", "0")
    done = dana.post(
        f"/items/{seeded.calc}/approve",
        data={"version": 1},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert done.status_code == 200
    # the card comes back, and with it every counter on the page, swapped out of band
    oob = dict(re.findall(r'id="([\w-]+-count)" hx-swap-oob="true">(\d+)<', done.text))
    assert oob == {"queue-count": "2", "reviewed-count": "1", "gaps-count": "1"}
    assert 'id="account-stats" hx-swap-oob="true"' in done.text
    stats = text_of(done.text.split('id="account-stats"')[1])
    assert stats.startswith('hx-swap-oob="true"> 2 to review')
    # a reload shows the same numbers
    again = dana.get("/accounts/acme").text
    assert (_count(again, "queue-count"), _count(again, "reviewed-count")) == ("2", "1")


def test_reviewed_section_is_visible_with_its_decisions(dana: Client, seeded: Seeded) -> None:
    dana.post(
        f"/items/{seeded.calc}/approve",
        data={"version": 1},
        headers={"X-CSRF-Token": dana.csrf},
    )
    html = dana.get("/accounts/acme").text
    reviewed = html.split('id="reviewed"')[1].split("</section>")[0]
    # nothing to unfold: the heading and the decisions are on the page, not in a <summary>
    assert reviewed.lstrip(" >\n").startswith("<h2>Reviewed")
    assert "Reviewed" in reviewed and f'id="item-{seeded.calc}"' in reviewed
    assert "approved" in text_of(reviewed)


def test_overdue_gap_flags_are_marked(dana: Client, seeded: Seeded, store: Store) -> None:
    past = dt.date.today() - dt.timedelta(days=3)
    with store.session() as session:
        row = session.get(GapFlagRow, seeded.gap)
        assert row is not None
        row.due_date = past
    page = text_of(dana.get("/accounts/acme").text)
    assert f"due {past.isoformat()}" in page and "overdue by 3 days" in page


def test_manager_grid_at_200_accounts_groups_pages_and_links(store: Store, app: object) -> None:
    from clerk.review.users import add_user
    from review_ui import create_app

    add_user(store, "boss@vendor.example", "manager", "boss-pw-12")
    for n in range(200):
        account = f"gen-{n:03d}"
        factory.add_account(store, account, "olga@vendor.example")
        factory.add_item(store, factory.calc_item(account, f"pi_{account}"))
    client = TestClient(create_app(store))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post(
        "/login",
        data={"email": "boss@vendor.example", "password": "boss-pw-12", "csrf_token": token[1]},
    )
    html = client.get("/manager").text
    head = html.split("<thead>")[-1].split("</thead>")[0]
    # one column per outcome category, not one per outcome id
    assert text_of(head) == "Account · CSM Renewal Cost Productivity Account flags"
    rows = re.findall(r"<td class=\"account-cell\"><a href=\"/accounts/([\w-]+)\"", html)
    assert len(rows) == 50  # the first page
    assert 'aria-label="Pages of accounts"' in html and "202 accounts" in text_of(html)
    assert '<code class="small muted account-id">gen-000</code>' in html
    # a cell links to the account's queue filtered to that outcome
    assert '<a class="cell cell-pending" href="/accounts/gen-000?outcome=hours_saved"' in html
    page5 = client.get("/manager?page=5").text
    assert len(re.findall(r"<td class=\"account-cell\"><a href=\"/accounts/", page5)) == 2
    filtered = text_of(client.get("/accounts/gen-000?outcome=hours_saved").text)
    assert "Showing Hours saved on approvals only" in filtered


def test_account_page_filtered_to_one_outcome(dana: Client, seeded: Seeded) -> None:
    html = dana.get("/accounts/acme?outcome=close_days").text
    queue = html.split('id="queue"')[1].split("</section>")[0]
    assert f'id="item-{seeded.statement}"' in queue
    assert f'id="item-{seeded.calc}"' not in queue
    assert "Show every outcome" in text_of(html)


def test_cli_items_and_gaps_show_edits_due_dates_and_overdue(store: Store) -> None:
    from typer.testing import CliRunner

    from clerk.cli import app as cli

    factory.add_account(store, "acme", "dana@vendor.example")
    factory.add_item(store, factory.calc_item("acme"))
    gap = factory.add_gap(store, "acme")
    admin = User("root@vendor.example", "admin")
    review.edit(
        store,
        "pi_acme_hours",
        actor=admin,
        version=1,
        claim="Approvals saved 1,320 hours in Q2 2026.",
        asserted=False,
        reason="",
    )
    review.update_gap(
        store,
        gap,
        actor=admin,
        version=1,
        action="next_action",
        next_action="Call Priya on Monday.",
        due_date=dt.date(2026, 7, 3),
    )
    runner = CliRunner()
    items = runner.invoke(cli, ["items", "acme", "--no-sweep"], env={"COLUMNS": "200"})
    assert items.exit_code == 0, items.output
    out = " ".join(items.output.split())
    assert "Approvals saved 1,320 hours in Q2 2026. (edited by CSM)" in out
    assert "clerk's draft: 1,320 hours saved on approvals" in out
    assert "Next: Call Priya on Monday. · due 2026-07-03 OVERDUE by" in out
    gaps = runner.invoke(cli, ["gaps", "--account", "acme"], env={"COLUMNS": "200"})
    assert gaps.exit_code == 0, gaps.output
    assert "due 2026-07-03 OVERDUE by" in " ".join(gaps.output.split())
    listed = runner.invoke(cli, ["gaps", "--account", "acme", "--json"])
    assert '"due_date": "2026-07-03"' in listed.output
