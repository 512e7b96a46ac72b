"""Every provider fault ends with a result: retried, repaired, or drafted without the model."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from typing import Any

import httpx
import openai
import pytest

from clerk.drafting.llm import BREAKER_NOTE, BUDGET_NOTE, FALLBACK_NOTE, REPAIRED_NOTE, LLMDrafter
from clerk.drafting.llm_faults import is_retryable, retry_after
from clerk.store import Store
from evals.fake_openai import FakeScript, Reply
from tests.llm.conftest import MODEL, RequestFactory
from tests.llm.test_drafter import SettingsFactory, calls, run

FAST = {"backoff": 0.001, "max_backoff": 0.01}


def test_rate_limit_is_retried_after_the_time_the_server_asks(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.extend([Reply.rate_limited(retry_after=0.3), Reply.rate_limited(0.3)])
    drafter = LLMDrafter(llm_settings(), store, **FAST)  # type: ignore[arg-type]
    started = time.perf_counter()
    (result,) = run(drafter, make_request("hours_saved"))

    assert time.perf_counter() - started >= 0.6  # Retry-After honoured, not the tiny backoff
    assert result.drafted_by == f"openai:{MODEL}" and result.claim
    assert [(r.status, r.attempts) for r in calls(store)] == [("retried", 3)]
    assert script.calls == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(
    status: int,
    script: FakeScript,
    llm_settings: SettingsFactory,
    make_request: RequestFactory,
    store: Store,
) -> None:
    script.queue.extend([Reply.server_error(status), Reply.server_error(status)])
    (result,) = run(LLMDrafter(llm_settings(), store, **FAST), make_request("close_days"))  # type: ignore[arg-type]
    assert result.drafted_by == f"openai:{MODEL}"
    assert [(r.status, r.attempts) for r in calls(store)] == [("retried", 3)]


def test_a_hang_past_the_timeout_is_retried(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.append(Reply.hanging(2.5))
    settings = llm_settings(llm_timeout=1.0)
    (result,) = run(LLMDrafter(settings, store, **FAST), make_request("close_days"))  # type: ignore[arg-type]
    assert result.drafted_by == f"openai:{MODEL}"
    (row,) = calls(store)
    assert (row.status, row.attempts) == ("retried", 2)


def test_retries_run_out_then_the_outcome_falls_back(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.extend([Reply.server_error()] * 3)
    (result,) = run(LLMDrafter(llm_settings(), store, **FAST), make_request("hours_saved"))  # type: ignore[arg-type]

    assert result.drafted_by == "extractive"
    assert result.claim is not None and "1,320" in result.claim  # still drafted, offline
    assert any(n.startswith(FALLBACK_NOTE) and "500" in n for n in result.notes)
    (row,) = calls(store)
    assert (row.status, row.attempts) == ("failed", 3)  # llm_max_retries=2 -> 3 attempts
    assert row.error and "InternalServerError" in row.error


def test_connection_refused_falls_back(
    llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    settings = llm_settings(openai_base_url="http://127.0.0.1:9/v1", llm_max_retries=1)
    (result,) = run(LLMDrafter(settings, store, **FAST), make_request("close_days"))  # type: ignore[arg-type]
    assert result.drafted_by == "extractive"
    (row,) = calls(store)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.error and "APIConnectionError" in row.error


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("bad", [Reply.malformed, Reply.schema_violation])
def test_an_invalid_answer_gets_one_repair(
    method: str,
    bad: type[Reply],
    script: FakeScript,
    llm_settings: SettingsFactory,
    make_request: RequestFactory,
    store: Store,
) -> None:
    script.queue.append(bad())
    drafter = LLMDrafter(llm_settings(), store, method=method)  # type: ignore[arg-type]
    (result,) = run(drafter, make_request("close_days"))

    assert result.drafted_by == f"openai:{MODEL}"
    assert any(n.startswith(REPAIRED_NOTE) for n in result.notes)
    assert [(r.task, r.status) for r in calls(store)] == [
        ("draft_outcome", "failed"),
        ("repair", "ok"),
    ]
    # The repair request carries the validation error back to the model.
    repair_messages = script.requests[1]["messages"]
    assert repair_messages[-1]["role"] == "user"
    assert "could not be used" in repair_messages[-1]["content"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_a_second_invalid_answer_falls_back_to_extractive(
    method: str,
    script: FakeScript,
    llm_settings: SettingsFactory,
    make_request: RequestFactory,
    store: Store,
) -> None:
    script.queue.extend([Reply.malformed(), Reply.schema_violation()])
    drafter = LLMDrafter(llm_settings(), store, method=method)  # type: ignore[arg-type]
    (result,) = run(drafter, make_request("close_days"))

    assert result.drafted_by == "extractive"
    assert any(n.startswith(FALLBACK_NOTE) and "invalid answer" in n for n in result.notes)
    # The extractive drafter still finds the customer's statement.
    assert any("six days" in c.quote for s in result.statements for c in s.citations)
    assert [(r.task, r.status) for r in calls(store)] == [
        ("draft_outcome", "failed"),
        ("repair", "failed"),
    ]
    assert script.calls == 2


def test_breaker_opens_and_the_rest_falls_back_quickly(
    script: FakeScript,
    llm_settings: SettingsFactory,
    make_request: RequestFactory,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script.responder = lambda _request: Reply.server_error(503)
    settings = llm_settings(llm_breaker_threshold=3, llm_max_retries=4, llm_max_concurrency=1)
    drafter = LLMDrafter(settings, store, **FAST)  # type: ignore[arg-type]
    outcomes = ["hours_saved", "cost_recovered", "close_days", "active_approvers"] * 3
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="clerk.llm"):
        results = run(drafter, *[make_request(o) for o in outcomes])

    assert time.perf_counter() - started < 10  # no retries once open: not 12 x 5 calls
    assert script.calls == 3  # the breaker stopped even the retries of the first call
    assert all(r.drafted_by == "extractive" for r in results)
    assert sum(any(n.startswith("circuit breaker open") for n in r.notes) for r in results) >= 11
    assert BREAKER_NOTE.format(n=3) in caplog.text
    # Each attempt may belong to a different outcome (the semaphore is free during backoff),
    # but every outcome is accounted for: failed with the provider, or skipped.
    statuses = [r.status for r in calls(store)]
    assert len(statuses) == 12 and 1 <= statuses.count("failed") <= 3
    assert statuses.count("skipped") == 12 - statuses.count("failed")


def test_breaker_counts_only_consecutive_failures(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory
) -> None:
    script.queue.extend([Reply.server_error(), Reply(), Reply.server_error(), Reply()])
    drafter = LLMDrafter(llm_settings(llm_breaker_threshold=2, llm_max_retries=1), **FAST)  # type: ignore[arg-type]
    first = run(drafter, make_request("hours_saved"))
    second = run(drafter, make_request("close_days"))
    assert not drafter.breaker.open
    assert first[0].drafted_by == second[0].drafted_by == f"openai:{MODEL}"


def test_token_budget_stops_calling(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    drafter = LLMDrafter(llm_settings(llm_token_budget=10, llm_max_concurrency=1), store)
    results = run(
        drafter, *[make_request(o) for o in ("hours_saved", "close_days", "cost_recovered")]
    )
    assert script.calls == 1
    # Whichever outcome got its call in first spent the budget; the others never called.
    budget = BUDGET_NOTE.format(budget=10)
    by_model = [r for r in results if r.drafted_by == f"openai:{MODEL}"]
    assert len(by_model) == 1 and budget not in by_model[0].notes
    assert sum(budget in r.notes and r.drafted_by == "extractive" for r in results) == 2
    assert sorted(r.status for r in calls(store)) == ["ok", "skipped", "skipped"]


def test_a_new_sweep_starts_with_a_closed_breaker_and_a_full_budget(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory
) -> None:
    script.queue.append(Reply.server_error())
    drafter = LLMDrafter(llm_settings(llm_breaker_threshold=1, llm_max_retries=0), sweep_id=1)
    (first,) = run(drafter, make_request("close_days"))
    assert drafter.breaker.open and first.drafted_by == "extractive"

    drafter.sweep_id = 2  # what the sweep does when it starts
    (second,) = run(drafter, make_request("close_days"))
    assert second.drafted_by == f"openai:{MODEL}" and not drafter.breaker.open


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response: Any = httpx.Response(status, headers=headers or {}, request=request)
    return openai.APIStatusError("fake", response=response, body=None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": email.utils.format_datetime(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))}, 0.0),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(status_error(429, headers)) == expected


@pytest.mark.parametrize(
    ("status", "retry"),
    [(429, True), (500, True), (503, True), (408, True), (400, False), (401, False)],
)
def test_which_statuses_are_retried(status: int, retry: bool) -> None:
    assert is_retryable(status_error(status)) is retry
