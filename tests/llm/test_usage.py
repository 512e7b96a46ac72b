"""`clerk llm-usage` and the drafter factory: what a user sees of the model's cost."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from clerk.cli import app
from clerk.drafting import get_drafter
from clerk.drafting.llm import LLMDrafter
from clerk.drafting.llm_usage import CallRecord, cache_get, percentile, record_call, write_calls
from clerk.settings import Settings
from clerk.store import Store
from clerk.store.tables import LLMCacheRow, LLMCallRow


def add(store: Store, sweep: int, status: str, latency: float, **extra: object) -> None:
    record = CallRecord(
        task="draft_outcome", model="m1", prompt_hash="h", status=status,  # type: ignore[arg-type]
        sweep_id=sweep, latency_ms=latency, attempts=0 if status == "cached" else 1,
        tokens_in=0 if status == "cached" else 100, tokens_out=0 if status == "cached" else 20,
    )  # fmt: skip
    for key, value in extra.items():
        setattr(record, key, value)
    record_call(store, record)


def test_llm_usage_summarises_the_latest_sweep(store: Store) -> None:
    add(store, 1, "ok", 5000.0)  # an older sweep, not shown by default
    for latency in (100.0, 200.0, 300.0, 400.0):
        add(store, 2, "ok", latency)
    add(store, 2, "retried", 900.0, attempts=3, error="RateLimitError (HTTP 429): slow down")
    add(store, 2, "cached", 0.0)
    add(store, 2, "cached", 0.0)

    result = CliRunner().invoke(app, ["llm-usage", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    total = data["total"]
    assert data["sweep_id"] == 2
    assert (total["calls"], total["attempts"], total["cache_hits"]) == (7, 7, 2)
    assert (total["tokens_in"], total["tokens_out"]) == (500, 100)
    # Percentiles leave cache hits out: they say how long the provider took.
    assert (total["p50_ms"], total["p95_ms"]) == (300.0, 900.0)
    assert total["statuses"] == {"ok": 4, "retried": 1, "cached": 2}
    assert data["errors"] == [{"error": "RateLimitError (HTTP 429): slow down", "count": 1}]

    table = CliRunner().invoke(app, ["llm-usage", "--sweep", "1"])
    assert "Model usage, sweep 1" in table.output and "5.00s" in table.output


def test_llm_usage_with_nothing_recorded(store: Store) -> None:
    result = CliRunner().invoke(app, ["llm-usage"])
    assert result.exit_code == 0
    assert "No model calls recorded" in result.output


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([], 50, None), ([7.0], 95, 7.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([1.0, 2.0], 95, 2.0)],
)
def test_percentile(values: list[float], pct: float, expected: float | None) -> None:
    assert percentile(values, pct) == expected


def test_get_drafter_builds_the_llm_drafter(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    drafter = get_drafter(Settings(llm="openai:gpt-4o-mini"), store)
    assert isinstance(drafter, LLMDrafter)
    assert drafter.name == "openai:gpt-4o-mini" and drafter.store is store
    with pytest.raises(ValueError, match="openai:<model>"):
        get_drafter(Settings(llm="openai:"))


def test_openai_without_a_key_or_a_local_server_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="needs OPENAI_API_KEY"):
        get_drafter(Settings(llm="openai:gpt-4o-mini"))
    local = Settings(llm="openai:qwen", openai_base_url="http://localhost:11434/v1")
    assert get_drafter(local).name == "openai:qwen"


def test_the_structured_output_method_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    local = {"llm": "openai:qwen", "openai_base_url": "http://localhost:11434/v1"}
    drafter = get_drafter(Settings(**local))
    assert isinstance(drafter, LLMDrafter) and drafter.method == "json_schema"
    monkeypatch.setenv("CLERK_LLM_METHOD", "function_calling")
    drafter = get_drafter(Settings(**local))
    assert isinstance(drafter, LLMDrafter) and drafter.method == "function_calling"
    monkeypatch.setenv("CLERK_LLM_METHOD", "regex")
    with pytest.raises(ValueError, match="function_calling"):
        Settings(**local)


def test_a_batch_of_calls_is_recorded_and_each_answer_cached_once(any_store: Store) -> None:
    def record(key: str, status: str = "ok") -> CallRecord:
        return CallRecord(task="draft_outcome", model="m1", prompt_hash=key, status=status,  # type: ignore[arg-type]
                          sweep_id=3, account_id="northwind", outcome_id="hours_saved")  # fmt: skip

    record_call(any_store, record("old"), "old", ("m1", {"claim": "cached earlier"}))
    write_calls(
        any_store,
        [
            (record("a"), {"claim": "first"}),
            (record("a"), {"claim": "its twin, asked at the same time"}),
            (record("old"), {"claim": "asked again"}),
            (record("b", "failed"), None),
        ],
    )
    with any_store.session() as session:
        rows = list(session.scalars(select(LLMCallRow).order_by(LLMCallRow.id)))
        cached = {r.prompt_hash: r.response for r in session.scalars(select(LLMCacheRow))}
    assert [(r.prompt_hash, r.status, r.sweep_id) for r in rows] == [
        ("old", "ok", 3), ("a", "ok", 3), ("a", "ok", 3), ("old", "ok", 3), ("b", "failed", 3)
    ]  # fmt: skip
    # One answer per prompt: the first of twins, and an earlier answer is left as it was.
    assert cached == {"old": {"claim": "cached earlier"}, "a": {"claim": "first"}}
    assert cache_get(any_store, "a") == {"claim": "first"} and cache_get(any_store, "b") is None
