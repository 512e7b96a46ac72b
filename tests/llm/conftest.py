"""Fixtures for the LLM path: the demo account as DraftRequests, and a fake OpenAI server.

Sources are built with ingest's own parsers (note_source, ticket_sources) from the bundled
demo data, so offsets and customer spans are exactly what a sweep would hand the drafter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clerk.domain.models import (
    Account,
    Calculation,
    CalculationInput,
    Evidence,
    Period,
    Source,
    ValueCase,
)
from clerk.drafting.base import DraftRequest
from clerk.ingest.accounts import load_account, load_value_case
from clerk.ingest.notes import note_source
from clerk.ingest.tickets import ticket_sources
from clerk.settings import Settings
from evals.fake_openai import FakeScript, serve_fake_openai

Q2 = Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026")
MODEL = "fake-model"


def _northwind(example_dir: Path) -> tuple[Account, ValueCase, list[Source]]:
    folder = example_dir / "accounts" / "northwind"
    loaded, rejects = load_account(folder, "accounts/northwind")
    assert loaded is not None, rejects
    account = loaded.account
    value_case, rejects = load_value_case(folder / "value_case.yaml", "vc", account.id)
    assert value_case is not None, rejects
    sources = [
        note_source(path.read_text(), account, path.name)
        for path in sorted((folder / "notes").glob("*.md"))
    ]
    export = json.loads((example_dir / "tickets" / "zendesk-export.json").read_text())
    for ticket in export["tickets"]:
        sources += ticket_sources(ticket, account.id)
    return account, value_case, sources


def evidence_of(source: Source) -> list[Evidence]:
    """Each customer span as a customer passage; a source without spans as one passage."""
    spans = source.customer_spans or []
    if not spans:
        return [
            Evidence(
                source_id=source.id,
                kind=source.kind,
                text=source.text,
                start=0,
                end=len(source.text),
                date=source.date,
                customer=False,
            )
        ]
    return [
        Evidence(
            source_id=source.id,
            kind=source.kind,
            text=source.text[s.start : s.end],
            start=s.start,
            end=s.end,
            date=source.date,
            customer=True,
        )
        for s in spans
    ]


RequestFactory = Callable[..., DraftRequest]


@pytest.fixture
def make_request(example_dir: Path) -> RequestFactory:
    """``make_request(outcome_id, extra_sources=())``: a DraftRequest for the demo account."""
    return request_factory(example_dir)


def request_factory(example_dir: Path) -> RequestFactory:
    account, value_case, base_sources = _northwind(example_dir)

    def make(
        outcome_id: str = "hours_saved", extra_sources: tuple[Source, ...] = ()
    ) -> DraftRequest:
        outcome = value_case.outcome(outcome_id)
        assert outcome is not None
        sources = [*base_sources, *extra_sources]
        calculation = delivered = attainment = None
        if outcome_id == "hours_saved":
            calculation = Calculation(
                formula=outcome.formula or "",
                inputs=[
                    CalculationInput(
                        name="approvals_automated",
                        value=4800,
                        unit="count",
                        source="metric:approval.completed?mode=auto@2026-04-01..2026-07-01",
                    ),
                    CalculationInput(
                        name="minutes_saved_per_approval",
                        value=16.5,
                        unit="minutes",
                        source="assumption:hours_saved.minutes_saved_per_approval",
                    ),
                ],
                result=1320.0,
            )
            delivered, attainment = 1320.0, 1.1
        return DraftRequest(
            account=account,
            outcome=outcome,
            period=Q2,
            as_of=dt.date(2026, 7, 1),
            calculation=calculation,
            delivered=delivered,
            target=outcome.target,
            attainment=attainment,
            evidence=[ev for s in sources for ev in evidence_of(s)],
            sources={s.id: s for s in sources},
        )

    return make


@pytest.fixture
def script() -> FakeScript:
    return FakeScript()


@pytest.fixture
def fake_url(script: FakeScript) -> Iterator[str]:
    """The fake OpenAI server's base URL, answering from the test's ``script``."""
    with serve_fake_openai(script) as url:
        yield url


@pytest.fixture
def llm_settings(fake_url: str) -> Callable[..., Settings]:
    """Settings pointing at the fake server, fast enough for tests; override any field."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "llm": f"openai:{MODEL}",
            "openai_base_url": fake_url,
            "llm_timeout": 2.0,
            "llm_max_retries": 2,
            "llm_breaker_threshold": 5,
            **overrides,
        }
        return Settings(**values)  # type: ignore[arg-type]

    return make
