"""Real exchanges, replayed offline: llama-cpp-python 0.3.36 serving the Gemma 3 270M base
model (recorded by ``python -m evals.record_llm``), and Ollama / vLLM protocol variants
written from their docs. Every step-down path of the drafter runs against what a real
server sent; ``record_mode="none"`` fails any request that was not recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import vcr
import yaml

from clerk.drafting.base import DraftRequest, DraftResult
from clerk.drafting.llm import CLAIM_FALLBACK_NOTE, FALLBACK_NOTE, REPAIRED_NOTE, LLMDrafter
from clerk.drafting.llm_check import probe_endpoint
from clerk.store import Store
from evals.record_llm import CASSETTES, GOOD_ANSWER, demo_request, settings_for
from tests.llm.test_drafter import calls

LLAMACPP = "http://127.0.0.1:8089/v1"


@contextmanager
def replay(name: str) -> Iterator[Any]:
    """Replay a cassette; ``cassette.sent`` lists the bodies the clerk sent, in order."""
    sent: list[str] = []

    def capture(request: Any, recorded: Any) -> None:
        body = request.body or b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        if not sent or sent[-1] is not text:
            sent.append(text)

    player = vcr.VCR(record_mode="none", filter_headers=["authorization"])
    player.register_matcher("capture", capture)
    player.match_on = ("method", "path", "capture")
    with player.use_cassette(str(CASSETTES / name)) as cassette:
        cassette.sent = sent
        yield cassette


@pytest.fixture(scope="module")
def request_hours() -> DraftRequest:
    return demo_request("hours_saved")


def draft(drafter: LLMDrafter, request: DraftRequest) -> DraftResult:
    async def go() -> DraftResult:
        try:
            return await drafter.draft(request)
        finally:
            await drafter.aclose()

    return asyncio.run(go())


def test_recordings_carry_no_authorization_header() -> None:
    for path in CASSETTES.glob("*.yaml"):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            headers = {k.lower() for k in interaction["request"].get("headers") or {}}
            assert "authorization" not in headers, path.name


def test_probe_of_the_real_server_picks_json_mode() -> None:
    with replay("llamacpp_probe.yaml") as cassette:
        report = asyncio.run(probe_endpoint(settings_for(LLAMACPP, "gemma-3-270m")))
    assert cassette.all_played
    by_mode = {p.mode: p for p in report.probes}
    refused = by_mode["json_schema"]
    assert not refused.works and refused.capability_miss
    # The cause, not "1 validation error:".
    assert refused.cause == "response_format.type: Input should be 'text' or 'json_object'"
    assert by_mode["json_mode"].works
    assert report.chosen == "json_mode"
    assert len(report.probes) == 4


def test_json_schema_refusal_steps_down_to_json_mode(
    request_hours: DraftRequest, store: Store
) -> None:
    drafter = LLMDrafter(settings_for(LLAMACPP, "gemma-3-270m", llm_max_tokens=200), store)
    with replay("llamacpp_step_down.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played and cassette.play_count == 2
    assert drafter.mode == "json_mode" and "json_schema" in drafter.misses
    assert drafter.breaker.consecutive == 0  # a capability miss is no fault
    (row,) = calls(store)
    assert row.mode == "json_mode" and row.attempts == 2
    # Whatever the base model said, the claim states the engine's numbers.
    assert result.claim is not None and "1,320" in result.claim
    if result.drafted_by == "extractive":
        assert CLAIM_FALLBACK_NOTE in result.notes


def test_a_truncated_tool_call_gets_one_lean_repair_then_falls_back(
    request_hours: DraftRequest, store: Store
) -> None:
    settings = settings_for(LLAMACPP, "gemma-3-270m", llm_max_tokens=24)
    drafter = LLMDrafter(settings, store, method="function_calling")
    with replay("llamacpp_truncated_tool_call.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played and cassette.play_count == 2  # the call and one repair
    # Recorded: the arguments stop mid-object (llama-cpp-python still says "tool_calls"); the
    # repair answers {"claim": "100", ...}, which the verifier refuses; the template words it.
    assert any(n.startswith(REPAIRED_NOTE) and "cut off" in n for n in result.notes)
    assert any(n.startswith("refused claim '100'") for n in result.notes)
    assert result.drafted_by == "extractive" and result.claim and "1,320" in result.claim
    assert CLAIM_FALLBACK_NOTE in result.notes
    assert [r.task for r in calls(store)] == ["draft_outcome", "repair"]
    first, repair = cassette.sent[0], cassette.sent[-1]
    assert len(repair) < len(first) + 2_000  # the broken answer once, cut short


def test_base_model_prose_in_prompt_mode_falls_back(
    request_hours: DraftRequest, store: Store
) -> None:
    settings = settings_for(LLAMACPP, "gemma-3-270m", llm_max_tokens=48)
    drafter = LLMDrafter(settings, store, method="prompt")
    with replay("llamacpp_prompt_garbage.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played and cassette.play_count == 2
    assert result.drafted_by == "extractive" and result.claim and "1,320" in result.claim
    assert any(n.startswith(FALLBACK_NOTE) and "cut off at max_tokens=48" in n
               for n in result.notes)  # fmt: skip
    # A base model's garbage never becomes a claim or a statement.
    assert all(s.drafted_by == "extractive" for s in result.statements)


def test_ollama_answers_json_schema_in_a_stream(request_hours: DraftRequest, store: Store) -> None:
    settings = settings_for("http://localhost:11434/v1", "qwen2.5:7b-instruct")
    drafter = LLMDrafter(settings, store)
    with replay("ollama_json_schema.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played
    sent = cassette.sent[0]
    assert '"json_schema"' in sent and '"include_usage": true' in sent
    assert result.drafted_by == "openai:qwen2.5:7b-instruct"
    assert result.claim == GOOD_ANSWER["claim"]
    (row,) = calls(store)
    assert (row.mode, row.tokens_in, row.tokens_out) == ("json_schema", 1200, 40)


def test_ollama_model_without_tools_steps_down_to_the_prompt(
    request_hours: DraftRequest, store: Store
) -> None:
    settings = settings_for("http://localhost:11434/v1", "gemma2:2b")
    drafter = LLMDrafter(settings, store, method="function_calling")
    with replay("ollama_no_tools.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played and cassette.play_count == 2
    assert '"tool_choice"' in cassette.sent[0] and '"tools"' not in cassette.sent[-1]
    assert drafter.mode == "prompt"
    assert drafter.misses["function_calling"] == "gemma2:2b does not support tools"
    # The answer came in a code fence with prose before it; the lenient reader found it.
    assert result.drafted_by == "openai:gemma2:2b" and result.claim == GOOD_ANSWER["claim"]
    assert drafter.breaker.consecutive == 0  # a capability miss is not a fault
    (row,) = calls(store)
    assert (row.mode, row.status, row.attempts) == ("prompt", "ok", 2)


def test_vllm_bad_request_steps_down_to_json_object(
    request_hours: DraftRequest, store: Store
) -> None:
    settings = settings_for("http://localhost:8000/v1", "Qwen/Qwen2.5-7B-Instruct")
    drafter = LLMDrafter(settings, store)
    with replay("vllm_step_down.yaml") as cassette:
        result = draft(drafter, request_hours)
    assert cassette.all_played
    assert '"json_object"' in cassette.sent[-1]
    assert drafter.mode == "json_mode" and "guided decoding" in drafter.misses["json_schema"]
    assert result.drafted_by == "openai:Qwen/Qwen2.5-7B-Instruct"
    assert drafter.breaker.consecutive == 0
