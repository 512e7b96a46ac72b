"""`clerk demo`: the example ingested and swept, demo users printed, the server started."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from clerk.cli import app
from clerk.store import Store
from review_ui import create_app
from tests.review_ui.conftest import Client, text_of


def test_demo_prints_logins_that_work_and_starts_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: dict[str, Any] = {}

    def fake_serve(host: str, port: int, *, store: Store | None = None) -> None:
        started.update(host=host, port=port, store=store)

    monkeypatch.setattr("review_ui.cli.serve_app", fake_serve)
    result = CliRunner().invoke(app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "Review UI: http://127.0.0.1:8123/" in result.output
    assert started["port"] == 8123 and started["store"] is not None
    logins = dict(re.findall(r"(\S+@vendor\.example)\s+password (\S+)", result.output))
    assert set(logins) == {"dana@vendor.example", "morgan@vendor.example"}

    client = Client(create_app(Store()))
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    client.post(
        "/login",
        data={
            "email": "dana@vendor.example",
            "password": logins["dana@vendor.example"],
            "csrf_token": token.group(1),
        },
    )
    page = text_of(client.get("/accounts/northwind").text)
    assert "To review 5" in page
    assert "1,320 hours saved on invoice approvals in Q2 2026" in page


def test_demo_no_serve_stops_after_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("review_ui.cli.serve_app", lambda *a, **k: pytest.fail("served"))
    result = CliRunner().invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "dana@vendor.example" in result.output and "password" in result.output
