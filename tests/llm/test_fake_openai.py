"""The fake server speaks the OpenAI protocol: checked with the real `openai` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from evals.fake_openai import FakeScript, Reply, serve_fake_openai

ANSWER = {"claim": "ok", "statements": [], "negative_signals": []}
SCHEMA = {"type": "object", "properties": {"claim": {"type": "string"}}}


@pytest.fixture
def client(fake_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_url, api_key="test", max_retries=0, timeout=2) as c:
        yield c


def ask(client: openai.OpenAI, **kwargs: Any) -> Any:
    messages: Any = [{"role": "user", "content": "hello"}]
    return client.chat.completions.create(model="fake-model", messages=messages, **kwargs)


def test_tool_calls(script: FakeScript, client: openai.OpenAI) -> None:
    script.queue.append(Reply(answer=ANSWER))
    tool = {"type": "function", "function": {"name": "Answer", "parameters": SCHEMA}}
    choice = {"type": "function", "function": {"name": "Answer"}}
    response = ask(client, tools=[tool], tool_choice=choice)
    message = response.choices[0].message
    (call,) = message.tool_calls
    assert call.function.name == "Answer"
    assert json.loads(call.function.arguments) == ANSWER
    assert response.choices[0].finish_reason == "tool_calls"
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0


def test_json_schema_response_format(script: FakeScript, client: openai.OpenAI) -> None:
    script.queue.append(Reply(answer=ANSWER))
    fmt = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": SCHEMA}}
    response = ask(client, response_format=fmt)
    assert json.loads(response.choices[0].message.content) == ANSWER
    assert script.requests[0]["response_format"] == fmt


def test_faults(script: FakeScript, client: openai.OpenAI) -> None:
    script.queue.extend([Reply.rate_limited(0.25), Reply.server_error(502), Reply.malformed()])
    with pytest.raises(openai.RateLimitError) as limited:
        ask(client)
    assert limited.value.response.headers["retry-after"] == "0.25"
    with pytest.raises(openai.InternalServerError):
        ask(client)
    with pytest.raises(json.JSONDecodeError):
        json.loads(ask(client).choices[0].message.content)
    assert script.calls == 3


def test_hang_outlasts_the_client_timeout(script: FakeScript, fake_url: str) -> None:
    script.queue.append(Reply.hanging(1.0))
    client = openai.OpenAI(base_url=fake_url, api_key="t", max_retries=0, timeout=0.2)
    with client, pytest.raises(openai.APITimeoutError):
        ask(client)


def test_a_responder_sees_the_request_and_latency_is_added() -> None:
    script = FakeScript(responder=lambda r: {"claim": r.prompt.upper()}, latency=0.05)
    with serve_fake_openai(script) as url, openai.OpenAI(base_url=url, api_key="t") as client:
        response = ask(client)
    assert json.loads(response.choices[0].message.content) == {"claim": "HELLO"}
