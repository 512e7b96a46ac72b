"""Structured-output modes: request bodies, capability misses, causes, the lenient parser,
and the drafter stepping down over real HTTP (the fake server refusing like real ones do)."""

from __future__ import annotations

import httpx
import openai
import pytest

from clerk.drafting.llm import LLMDrafter
from clerk.drafting.llm_guard import coerce_answer
from clerk.drafting.llm_modes import (
    answer_payload,
    capability_miss,
    cause_line,
    lenient_json,
    request_body,
    schema_max_tokens,
)
from clerk.drafting.llm_usage import error_cause, remembered_mode
from clerk.store import Store
from evals.fake_openai import FakeScript, Reply
from tests.llm.conftest import MODEL, RequestFactory
from tests.llm.test_drafter import SettingsFactory, calls, run

# What llama-cpp-python 0.3.36 answers to response_format json_schema (recorded live).
LLAMACPP_500 = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
    "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"/x/llama_cpp/server/app.py\", "
    "line 376, in create_chat_completion\n    POST /v1/chat/completions"
)


def status_error(status: int, body: object) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(status, request=request)
    cls = openai.InternalServerError if status >= 500 else openai.BadRequestError
    return cls(f"Error code: {status} - {body}", response=response, body=body)  # type: ignore[arg-type]


def test_each_mode_asks_in_its_own_protocol() -> None:
    schema = {"type": "object"}
    msgs = [{"role": "user", "content": "x"}]
    bodies = {
        mode: request_body(mode, "m", msgs, schema, max_tokens=100, temperature=0.0)
        for mode in ("json_schema", "json_mode", "function_calling", "prompt")
    }
    assert bodies["json_schema"]["response_format"]["type"] == "json_schema"
    assert bodies["json_mode"]["response_format"] == {"type": "json_object", "schema": schema}
    assert bodies["function_calling"]["tool_choice"]["function"]["name"] == "OutcomeAnswer"
    assert "response_format" not in bodies["prompt"] and "tools" not in bodies["prompt"]
    assert all(b["max_tokens"] == 100 and b["temperature"] == 0.0 for b in bodies.values())


def test_the_cause_is_the_meaningful_line_not_the_first() -> None:
    exc = status_error(500, {"message": LLAMACPP_500, "type": "internal_server_error"})
    assert capability_miss(exc) == "response_format.type: Input should be 'text' or 'json_object'"
    assert cause_line("1 validation error:\nresponse_format.type\n  Input should be 'text'") == (
        "response_format.type: Input should be 'text'"
    )
    stored = f"InternalServerError (HTTP 500): Error code: 500 - {LLAMACPP_500}"
    assert "Input should be 'text' or 'json_object'" in error_cause(stored)


def test_a_fault_that_names_no_feature_is_not_a_capability_miss() -> None:
    assert capability_miss(status_error(500, {"message": "CUDA out of memory"})) is None
    assert capability_miss(status_error(429, {"message": "tools are rate limited"})) is None
    vllm = {"object": "error", "message": "tool_choice 'auto' requires --enable-auto-tool-choice",
            "type": "BadRequestError", "code": 400}  # fmt: skip
    assert capability_miss(status_error(400, vllm)) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('```json\n{"claim": "x", "statements": []}\n```', {"claim": "x", "statements": []}),
        ('Sure! Here it is: {"claim": null, "statements": [],} Hope this helps',
         {"claim": None, "statements": []}),
        ('{"a": "brace } in a string"}', {"a": "brace } in a string"}),
    ],
)  # fmt: skip
def test_the_lenient_parser_finds_the_object(text: str, expected: dict[str, object]) -> None:
    assert lenient_json(text) == expected


def test_the_lenient_parser_says_why_it_found_nothing() -> None:
    with pytest.raises(ValueError, match="cut off"):
        lenient_json('{"claim": "1,320 hours saved", "statements": [')
    with pytest.raises(ValueError, match="no JSON object"):
        lenient_json("I'm not sure if this is the right way to do it.")
    with pytest.raises(ValueError, match="empty"):
        answer_payload("", None)


def test_one_malformed_entry_does_not_lose_the_answer() -> None:
    answer, dropped = coerce_answer(
        {
            "claim": "c",
            "statements": [{"claim": "s"}, {"claim": "t", "quotes": [], "delivered": None}],
        }
    )
    assert dropped == 1 and [s.claim for s in answer.statements] == ["t"]
    assert answer.negative_signals == []


def test_max_tokens_is_sized_to_the_schema() -> None:
    from clerk.drafting.llm import DEFAULT_MAX_TOKENS

    assert 600 <= DEFAULT_MAX_TOKENS <= 2000
    small = {"type": "object", "properties": {"word": {"type": "string"}}}
    assert schema_max_tokens(small) < 60


def test_a_refused_mode_steps_down_without_touching_the_breaker(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.append(Reply.unsupported(LLAMACPP_500))
    drafter = LLMDrafter(llm_settings(llm_breaker_threshold=1), store)
    (result,) = run(drafter, make_request("hours_saved"))

    assert result.drafted_by == f"openai:{MODEL}" and result.claim and "1,320" in result.claim
    assert not drafter.breaker.open and drafter.breaker.consecutive == 0
    assert drafter.mode == "json_mode"
    second = script.requests[1]
    assert second["response_format"]["type"] == "json_object"
    assert "schema" in second["response_format"]
    (row,) = calls(store)
    assert (row.status, row.mode) == ("ok", "json_mode")  # a step-down is not a retry
    memory = remembered_mode(store, drafter.settings.llm_endpoint, MODEL)
    assert memory is not None and memory.mode == "json_mode"
    assert "json_schema" in memory.misses and "json_object" in memory.misses["json_schema"]

    # The next drafter starts in the remembered mode: no refused request first.
    sent = script.calls
    later = LLMDrafter(llm_settings(), store)
    run(later, make_request("close_days"))
    assert script.requests[sent]["response_format"]["type"] == "json_object"


def test_every_mode_refused_down_to_the_prompt(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.extend([
        Reply.unsupported("response_format json_schema is not supported", 400),
        Reply.unsupported("response_format json_object is not supported", 400),
        Reply.unsupported("tools are not supported by this model", 400),
    ])  # fmt: skip
    drafter = LLMDrafter(llm_settings(), store)
    (result,) = run(drafter, make_request("hours_saved"))
    assert drafter.mode == "prompt" and result.drafted_by == f"openai:{MODEL}"
    last = script.requests[-1]
    assert "tools" not in last and "response_format" not in last
    assert "JSON schema" in last["messages"][-1]["content"]


def test_the_repair_request_carries_the_broken_answer_once(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory
) -> None:
    broken = '{"claim": "1,320 hours saved", "statements": ['
    script.queue.append(Reply(text=broken))
    run(LLMDrafter(llm_settings()), make_request("hours_saved"))
    first, repair = script.requests[0], script.requests[1]
    text = "".join(m["content"] or "" for m in repair["messages"])
    assert text.count(broken) == 1
    assert len(repair["messages"]) == len(first["messages"]) + 1  # no assistant echo
    size = sum(len(m["content"] or "") for m in first["messages"])
    assert sum(len(m["content"] or "") for m in repair["messages"]) < size + 1500


def test_requests_carry_the_defaults(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory
) -> None:
    run(LLMDrafter(llm_settings()), make_request("hours_saved"))
    body = script.requests[0]
    assert body["temperature"] == 0.0 and 600 <= body["max_tokens"] <= 2000
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_a_single_slot_server_gets_one_call_at_a_time(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory
) -> None:
    script.latency = 0.2
    drafter = LLMDrafter(llm_settings(llm_max_concurrency=None))  # local, no /props: 1 slot
    run(drafter, *(make_request(o) for o in ("hours_saved", "close_days", "active_approvers")))
    assert drafter.concurrency == 1 and script.max_in_flight == 1


def test_the_timeout_counts_the_call_not_the_queue(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    # Three calls of 0.6 s each through one slot: 1.8 s in all, each well inside 1 s.
    script.latency = 0.6
    drafter = LLMDrafter(llm_settings(llm_timeout=1.0, llm_max_concurrency=1), store)
    results = run(
        drafter, *(make_request(o) for o in ("hours_saved", "close_days", "active_approvers"))
    )
    assert all(r.drafted_by != "extractive" or r.claim is None for r in results)
    assert [r.status for r in calls(store)] == ["ok"] * 3


def test_calls_queued_behind_a_step_down_go_out_in_the_new_mode(
    script: FakeScript, llm_settings: SettingsFactory, make_request: RequestFactory, store: Store
) -> None:
    script.queue.append(Reply.unsupported(LLAMACPP_500))
    script.latency = 0.1
    drafter = LLMDrafter(llm_settings(llm_max_concurrency=1), store)
    outcomes = ("hours_saved", "close_days", "active_approvers")
    run(drafter, *(make_request(o) for o in outcomes))
    # One refused request, then every call in json_mode: not one refusal per queued call.
    assert script.calls == 4
    assert sorted(r.attempts for r in calls(store)) == [1, 1, 2]
    # The latency recorded is the call's time on the wire, not its wait for the slot.
    assert all(r.latency_ms < 1000 for r in calls(store))
