"""The pages, through FastAPI's TestClient: what a reviewer sees and what their clicks do."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi import FastAPI

from tests.review_ui.conftest import Client, Seeded, login, text_of, version_of

HX = {"HX-Request": "true"}


def test_login_sets_an_httponly_samesite_cookie_and_rejects_a_wrong_password(app: FastAPI) -> None:
    client = login(app, None)
    bad = client.post(
        "/login",
        data={"email": "dana@vendor.example", "password": "nope", "csrf_token": client.csrf},
    )
    assert bad.status_code == 401 and "Wrong email or password" in bad.text
    ok = client.post(
        "/login",
        data={"email": "dana@vendor.example", "password": "dana-pw-1", "csrf_token": client.csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_login_without_the_forms_csrf_token_is_refused(app: FastAPI) -> None:
    client = login(app, None)
    response = client.post(
        "/login",
        data={"email": "dana@vendor.example", "password": "dana-pw-1", "csrf_token": "forged"},
    )
    assert response.status_code == 403 and "expired" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_pages_redirect_to_login_when_signed_out(app: FastAPI) -> None:
    response = Client(app).get("/accounts/acme", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/accounts/acme"


def test_home_lists_only_my_accounts_with_counts(dana: Client, mia: Client) -> None:
    text = text_of(dana.get("/").text)
    assert "Acme Inc" in text and "Globex Inc" not in text
    # 3 drafts waiting, 1 open gap, 0 of 2 outcomes proven
    assert "Acme Inc acme dana@vendor.example 2027-01-01" in text
    assert "3 1 0% · 0/2" in text
    assert "Globex Inc" in text_of(mia.get("/").text)


def test_queue_shows_claim_calculation_evidence_and_failures(dana: Client) -> None:
    html = dana.get("/accounts/acme").text
    text = text_of(html)
    assert "1,320 hours saved on approvals in Q2 2026, against a target of 1,200." in text
    assert "approvals 4,800 count metric:approval.completed@2026-04-01..2026-07-01" in text
    assert "<mark>we closed the June books in six days</mark>" in html
    assert "customer's words" in text
    assert "Failed verification — cannot be approved as drafted." in text
    assert "number 1,500 in the claim is not grounded" in text
    assert "Confidence high every input is measured usage" in text


def test_ticket_text_is_escaped_never_markup(dana: Client) -> None:
    html = dana.get("/accounts/acme").text
    assert '<script>alert("owned")</script>' not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html


def test_approve_with_htmx_returns_the_decided_card(dana: Client, seeded: Seeded) -> None:
    response = dana.post(
        f"/items/{seeded.calc}/approve",
        data={"version": 1},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert response.status_code == 200
    text = text_of(response.text)
    assert "approved" in text and "Approved by dana@vendor.example" in text
    assert "History (1)" in text and "dana@vendor.example approve pending → approved" in text
    # the page's counters come along out of band: 2 left, 1 of 2 outcomes proven
    assert 'id="account-stats" hx-swap-oob="true"' in response.text
    assert "2 to review 1 open gaps 50% proof coverage" in text


def test_a_plain_form_post_redirects_back_to_the_account(dana: Client, seeded: Seeded) -> None:
    response = dana.post(
        f"/items/{seeded.calc}/approve",
        data={"version": 1, "csrf_token": dana.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/accounts/acme#item-{seeded.calc}"


def test_state_changes_without_csrf_token_get_403(dana: Client, seeded: Seeded) -> None:
    for token in (None, "wrong"):
        headers = {**HX} if token is None else {**HX, "X-CSRF-Token": token}
        response = dana.post(f"/items/{seeded.calc}/approve", data={"version": 1}, headers=headers)
        assert response.status_code == 403
    assert version_of(dana, seeded.calc) == 1


def test_second_reviewer_sees_who_changed_it_and_a_reload(
    app: FastAPI, dana: Client, mia: Client, seeded: Seeded
) -> None:
    assert (
        dana.post(
            f"/items/{seeded.calc}/approve",
            data={"version": 1},
            headers={**HX, "X-CSRF-Token": dana.csrf},
        ).status_code
        == 200
    )
    late = mia.post(
        f"/items/{seeded.calc}/reject",
        data={"version": 1, "reason": "duplicate"},
        headers={**HX, "X-CSRF-Token": mia.csrf},
    )
    assert late.status_code == 409
    text = text_of(late.text)
    assert "Changed by dana@vendor.example at" in text and "reload" in text
    assert "Reload" in text
    reloaded = text_of(mia.get(f"/items/{seeded.calc}", headers=HX).text)
    assert "Approved by dana@vendor.example" in reloaded


def test_edit_that_does_not_verify_is_refused_with_the_input_kept(
    dana: Client, seeded: Seeded
) -> None:
    claim = "Approvals saved 2,000 hours in Q2 2026."
    response = dana.post(
        f"/items/{seeded.calc}/edit",
        data={"version": 1, "claim": claim},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert response.status_code == 422
    assert "number 2,000 in the claim is not grounded" in text_of(response.text)
    assert f">{claim}</textarea>" in response.text
    saved = dana.post(
        f"/items/{seeded.calc}/edit",
        data={"version": 1, "claim": claim, "asserted": "true", "reason": "CFO's own count"},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert saved.status_code == 200
    text = text_of(saved.text)
    assert "asserted by CSM" in text and "Asserted by CSM: CFO's own count" in text
    assert "Clerk's draft: 1,320 hours saved" in text


def test_reject_needs_a_reason(dana: Client, seeded: Seeded) -> None:
    refused = dana.post(
        f"/items/{seeded.calc}/reject",
        data={"version": 1, "reason": ""},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert refused.status_code == 422 and "Pick a reason" in refused.text
    done = dana.post(
        f"/items/{seeded.calc}/reject",
        data={"version": 1, "reason": "out_of_period", "note": "Q1 data"},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    assert "Rejected: Out of period: Q1 data" in text_of(done.text)


def test_bulk_approve_skips_unverified_and_reports(dana: Client, seeded: Seeded) -> None:
    response = dana.post(
        "/accounts/acme/bulk-approve",
        data={"select": [f"{seeded.calc}:1", f"{seeded.statement}:1", f"{seeded.unverified}:1"]},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    text = text_of(response.text)
    assert "Approved 2." in text and "1 could not be approved" in text
    assert "To review 1" in text and "1 to review 1 open gaps 100% proof coverage" in text


def test_gap_actions_from_the_account_page(dana: Client, mia: Client, seeded: Seeded) -> None:
    headers = {**HX, "X-CSRF-Token": dana.csrf}
    r = dana.post(
        f"/gaps/{seeded.gap}/assign",
        data={"version": 1, "owner": "sam@vendor.example"},
        headers=headers,
    )
    assert "Owner sam@vendor.example" in text_of(r.text)
    r = dana.post(
        f"/gaps/{seeded.gap}/next-action",
        data={"version": 2, "next_action": "Call Priya", "due_date": "2026-07-15"},
        headers=headers,
    )
    assert "Next action Call Priya due 2026-07-15" in text_of(r.text)
    r = dana.post(f"/gaps/{seeded.gap}/acknowledge", data={"version": 3}, headers=headers)
    assert "acknowledged" in text_of(r.text)
    assert "Dismiss" not in text_of(r.text)  # a CSM is not offered what they may not do
    r = dana.post(
        f"/gaps/{seeded.gap}/dismiss", data={"version": 4, "reason": "n/a"}, headers=headers
    )
    assert r.status_code == 403
    r = mia.post(
        f"/gaps/{seeded.gap}/dismiss",
        data={"version": 4, "reason": "ERP reports it"},
        headers={**HX, "X-CSRF-Token": mia.csrf},
    )
    text = text_of(r.text)
    assert "dismissed" in text and "Dismissed ERP reports it" in text
    assert "History (4)" in text


def test_manager_grid_filters_totals_and_csv(mia: Client, dana: Client, seeded: Seeded) -> None:
    assert dana.get("/manager").status_code == 403
    text = text_of(mia.get("/manager").text)
    assert "2 accounts" in text and "Hours saved on approvals" in text
    assert text.count("pending") >= 2
    only_olga = text_of(mia.get("/manager?csm=olga@vendor.example").text)
    assert "Globex Inc" in only_olga and "Acme Inc" not in only_olga
    assert "No accounts match" in text_of(mia.get("/manager?gap_kind=no_owner").text)
    assert "2 accounts" in text_of(mia.get("/manager?severity=high&renewal_within=400").text)
    assert "No accounts match" in text_of(mia.get("/manager?stale_pending=true").text)
    filtered = mia.get("/manager?csm=olga@vendor.example", headers=HX).text
    assert 'href="/manager.csv?csm=olga@vendor.example"' in filtered
    rows = list(csv.DictReader(io.StringIO(mia.get("/manager.csv").text)))
    assert {(r["account_id"], r["outcome_id"], r["state"]) for r in rows} == {
        ("acme", "hours_saved", "pending"),
        ("acme", "close_days", "pending"),
        ("globex", "hours_saved", "pending"),
        ("globex", "close_days", "pending"),
    }
    assert rows[0]["open_gaps"] in ("", "stale_evidence(high)")


def test_packet_page_publish_and_downloads(dana: Client, seeded: Seeded) -> None:
    dana.post(
        f"/items/{seeded.calc}/approve",
        data={"version": 1},
        headers={**HX, "X-CSRF-Token": dana.csrf},
    )
    page = text_of(dana.get("/accounts/acme/packet").text)
    assert "Publish as version 1" in page and "Not published yet" in page
    published = dana.post(
        "/accounts/acme/packet/publish", data={"csrf_token": dana.csrf}, follow_redirects=True
    )
    shown = text_of(published.text)
    # after publishing, the page shows the published version and its own downloads ...
    assert "Published version 1" in shown and "Version 1 — published" in shown
    assert "Publish as version" not in shown and "— draft" not in shown
    assert 'href="/accounts/acme/packet.pdf?version=1" id="download-pdf"' in published.text
    assert 'src="/accounts/acme/packet.html?version=1"' in published.text
    # ... and a new draft is an explicit step
    assert "Start a new draft (version 2)" in shown
    draft = text_of(dana.get("/accounts/acme/packet").text)
    assert "Version 2 — draft" in draft and "Publish as version 2" in draft
    pdf = dana.get("/accounts/acme/packet.pdf?version=1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    md = dana.get("/accounts/acme/packet.md?version=1").text
    assert "| Hours saved on approvals | 1,200 hours a quarter | 1,320 hours | 110% |" in md
    assert dana.get("/accounts/acme/packet.json?version=1").json()["version"] == 1
    assert dana.get("/accounts/acme/packet.docx").status_code == 404
    assert dana.get("/accounts/acme/packet.pdf?version=9").status_code == 404


def test_manager_sees_every_account_page(mia: Client) -> None:
    assert mia.get("/accounts/globex").status_code == 200
    assert mia.get("/accounts/nope").status_code == 404


def test_a_deleted_user_is_signed_out_despite_a_valid_cookie(
    dana: Client, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete

    from clerk.store.tables import UserRow

    assert dana.get("/", follow_redirects=False).status_code == 200
    monkeypatch.setattr("review_ui.security.USER_TTL", 0.0)
    with seeded.store.session() as session:
        session.execute(delete(UserRow).where(UserRow.email == "dana@vendor.example"))
    assert dana.get("/", follow_redirects=False).status_code == 303


def test_api_docs_work_offline_from_vendored_files(app: FastAPI) -> None:
    client = Client(app)
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    for url in ("/static/swagger-ui-bundle-5.35.0.js", "/static/swagger-ui-5.35.0.css"):
        assert url in page.text
        assert client.get(url).status_code == 200
    assert client.get("/api/openapi.json").json()["info"]["title"] == "Evidence Clerk"
