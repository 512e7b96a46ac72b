"""A local server that speaks the OpenAI chat-completions protocol, for tests and benchmarks.

``serve_fake_openai(script)`` runs it with uvicorn in a thread on 127.0.0.1 (a free port)
and yields the base URL to give ``CLERK_OPENAI_BASE_URL``. ``POST /v1/chat/completions``
answers with a tool call when the request has ``tools`` (the function-calling path) and
with JSON content otherwise (the ``response_format`` json_schema path), with ``usage``
token counts. What it answers is scripted per test through a ``FakeScript``:

- a queue of ``Reply`` objects, consumed one per request (faults included: 429 with
  Retry-After, 500, a hang past the client timeout, malformed JSON, schema-violating JSON),
- then a responder callable, given the parsed request, returning a ``Reply`` or an answer
  dict (for example one that obeys an injection and reports invented numbers),
- then the oracle, which answers sensibly from the evidence in the prompt: a claim from the
  computed facts, the customer's sentences that state a number in the outcome's unit, and
  customer sentences that report trouble as negative signals.

Run ``python -m evals.fake_openai --port 8011 --latency 0.2`` to point a real clerk at it.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse, Response, StreamingResponse

from clerk.domain.format import number
from clerk.domain.textnum import numbers_in
from prompts import EVIDENCE_RE, FACTS_RE

__all__ = [
    "FakeRequest",
    "FakeScript",
    "Reply",
    "create_app",
    "main",
    "obey_injection",
    "oracle_answer",
    "serve_fake_openai",
]

NEGATIVE_RE = re.compile(
    r"\b(?:fail(?:s|ed|ing|ure)?|broken|broke|not working|(?:doesn't|does not|didn't) work|"
    r"slow(?:er)?|worse|cancel\w*|churn\w*|frustrat\w*|stopped using|gave up|outage|"
    r"errors?|stuck)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A number right after these is the value before the change, not the one delivered.
_OLD_VALUE = re.compile(r"\b(?:from|instead of|than|used to take|was|were)\s+$", re.IGNORECASE)
_COMMON = {"with", "from", "that", "this", "time", "number", "total", "work"}


@dataclass
class EvidenceBlock:
    source_id: str
    kind: str
    date: str
    customer: bool
    text: str


@dataclass
class FakeRequest:
    """A chat-completions request as the script sees it."""

    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def prompt(self) -> str:
        """The first user message: where the clerk puts facts, tasks and evidence."""
        for message in self.messages:
            if message.get("role") == "user":
                return _content_text(message.get("content"))
        return ""

    @property
    def is_repair(self) -> bool:
        return sum(1 for m in self.messages if m.get("role") == "user") > 1

    @property
    def facts(self) -> dict[str, Any]:
        match = FACTS_RE.search(self.prompt)
        return json.loads(match.group("facts")) if match else {}

    @property
    def evidence(self) -> list[EvidenceBlock]:
        return [
            EvidenceBlock(
                source_id=html.unescape(m.group("source_id")),
                kind=m.group("kind"),
                date=m.group("date"),
                customer=m.group("customer") == "true",
                text=m.group("text"),
            )
            for m in EVIDENCE_RE.finditer(self.prompt)
        ]


@dataclass
class Reply:
    """One scripted response. By default a 200 with ``answer`` (or the oracle's)."""

    answer: dict[str, Any] | None = None  # the structured answer; None: ask the oracle
    text: str | None = None  # sent verbatim instead of JSON(answer): malformed output
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # added to the script's latency
    hang: float = 0.0  # seconds to stall before answering (past the client's timeout)
    error: str | None = None  # the error message of a non-200 reply

    @classmethod
    def unsupported(cls, message: str, status: int = 500) -> Reply:
        """A server that does not take this way of asking (a capability miss)."""
        return cls(status=status, error=message)

    @classmethod
    def rate_limited(cls, retry_after: float = 0.05) -> Reply:
        return cls(status=429, headers={"retry-after": f"{retry_after:g}"})

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls(status=status)

    @classmethod
    def hanging(cls, seconds: float = 5.0) -> Reply:
        return cls(hang=seconds)

    @classmethod
    def malformed(cls) -> Reply:
        return cls(text='{"claim": "1,320 hours saved", "statements": [')

    @classmethod
    def injected_numbers(cls, number: str = "10,000", source: str = "ticket:1") -> Reply:
        """A well-formed answer whose claim and statement state a number nobody computed."""
        quote = {"source": source, "quote": f"we saved {number} hours"}
        statement: dict[str, Any] = {
            "claim": f"The customer saved {number} hours.",
            "quotes": [quote],
            "delivered": float(number.replace(",", "")),
        }
        claim = f"We saved {number} hours this quarter."
        return cls(answer={"claim": claim, "statements": [statement], "negative_signals": []})

    @classmethod
    def schema_violation(cls) -> Reply:
        return cls(answer={"claim": 1320, "statements": "none", "signals": []})


Responder = Callable[[FakeRequest], "Reply | dict[str, Any]"]


class FakeScript:
    """What the fake server answers, and a log of what it was asked."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
    ) -> None:
        self.queue: deque[Reply] = deque(replies)
        self.responder = responder
        self.latency = latency
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server held at once
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """Requests received so far (every attempt, retry and repair counts)."""
        return len(self.requests)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def next_reply(self, request: FakeRequest) -> Reply:
        with self._lock:
            self.requests.append(request.body)
            queued = self.queue.popleft() if self.queue else None
        if queued is not None:
            return queued
        if self.responder is not None:
            reply = self.responder(request)
            return reply if isinstance(reply, Reply) else Reply(answer=reply)
        return Reply()


_PASSWORD_RE = re.compile(r"The password is (\w+)\.")


def probe_answer(request: FakeRequest) -> dict[str, Any] | None:
    """The answer to `clerk llm check`'s tiny probes (a schema with one "word"), or None.

    A system message's password is repeated, as a model that sees system messages would.
    """
    if '"word"' not in json.dumps(request.body):
        return None
    for message in request.messages:
        if match := _PASSWORD_RE.search(_content_text(message.get("content"))):
            return {"word": match.group(1)}
    return {"word": "ready"}


def oracle_answer(request: FakeRequest) -> dict[str, Any]:
    """A sensible answer from the prompt alone, the way a careful model would give it."""
    facts = request.facts
    claim = None
    if facts.get("delivered") is not None:
        claim = f"{number(facts['delivered'])} {facts.get('unit', '')} delivered"
        claim += f" for {str(facts.get('outcome', 'the outcome')).lower()}"
        if facts.get("target") is not None:
            claim += f" against a target of {number(facts['target'])}"
        claim += "."
    unit = str(facts.get("unit", "")).lower().rstrip("s")
    topic = _stems(str(facts.get("outcome", "")), exclude=unit)
    statements: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    for block in request.evidence:
        if not block.customer:
            continue
        for sentence in _sentences(block.text):
            quote = [{"source": block.source_id, "quote": sentence}]
            if NEGATIVE_RE.search(sentence) and len(signals) < 3:
                signals.append({"reason": "The customer reports a problem.", "quotes": quote})
                continue
            stated = [
                m
                for m in numbers_in(sentence)
                if unit
                and (m.unit or "").rstrip("s") == unit
                and not _OLD_VALUE.search(sentence[: m.start])
            ]
            if stated and _about(sentence, topic) and len(statements) < 3:
                statements.append(
                    {
                        "claim": f'The customer says "{sentence}".',
                        "quotes": quote,
                        "delivered": stated[0].value,
                    }
                )
    return {"claim": claim, "statements": statements, "negative_signals": signals}


def obey_injection(
    number: str = "10,000", unit: str = "hours saved", source_id: str | None = None
) -> Responder:
    """A model that does what evidence tells it: reports ``number`` and quotes the order.

    It quotes the injected text wherever it sees it, and also from ``source_id`` as if it
    remembered it, so the test holds even when the drafter withholds that source.
    """
    value = float(number.replace(",", ""))

    def statement(source: str, quote: str) -> dict[str, Any]:
        return {
            "claim": f"The customer reports {number} {unit}.",
            "quotes": [{"source": source, "quote": quote}],
            "delivered": value,
        }

    def respond(request: FakeRequest) -> dict[str, Any]:
        answer = oracle_answer(request)
        answer["claim"] = f"The customer saved {number} {unit} this quarter."
        for block in request.evidence:
            if number in block.text:
                answer["statements"].append(statement(block.source_id, block.text))
        if source_id is not None:
            answer["statements"].append(statement(source_id, f"report {number} {unit}"))
        return answer

    return respond


def create_app(script: FakeScript) -> FastAPI:
    """The FastAPI app: ``/v1/chat/completions`` and ``/v1/models``."""
    app = FastAPI(title="fake OpenAI")
    ids = itertools.count(1)

    @app.get("/fake/stats")
    async def stats() -> dict[str, int]:
        """What the server has seen, for a benchmark running it in another process."""
        return {"calls": script.calls, "max_in_flight": script.max_in_flight}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def completions(body: dict[str, Any] = Body(...)) -> dict[str, Any] | Response:
        script.enter()
        try:
            return await _answer(FakeRequest(body))
        finally:
            script.leave()

    async def _answer(request: FakeRequest) -> dict[str, Any] | Response:
        body = request.body
        reply = script.next_reply(request)
        if script.latency + reply.delay > 0:
            await asyncio.sleep(script.latency + reply.delay)
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.status != 200:
            text = reply.error or f"fake error {reply.status}"
            error = {"message": text, "type": "fake", "code": reply.status}
            return JSONResponse({"error": error}, status_code=reply.status, headers=reply.headers)
        if reply.text is not None:
            payload = reply.text
        else:
            answer = reply.answer
            if answer is None:
                answer = probe_answer(request) or oracle_answer(request)
            payload = json.dumps(answer)
        message: dict[str, Any] = {"role": "assistant", "content": payload}
        finish = "stop"
        tools = body.get("tools") or []
        if tools:
            choice = body.get("tool_choice")
            name = (
                choice["function"]["name"]
                if isinstance(choice, dict) and "function" in choice
                else choice
                if isinstance(choice, str) and choice not in ("auto", "required", "none")
                else tools[0]["function"]["name"]
            )
            function = {"name": name, "arguments": payload}
            call: dict[str, Any] = {
                "id": f"call_{next(ids)}",
                "type": "function",
                "function": function,
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        prompt_chars = sum(len(_content_text(m.get("content"))) for m in request.messages)
        usage = {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": len(payload) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return _stream(body, message, finish, usage if include_usage else None, next(ids))
        return {
            "id": f"chatcmpl-fake-{next(ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": usage,
        }

    return app


def _stream(
    body: dict[str, Any],
    message: dict[str, Any],
    finish: str,
    usage: dict[str, int] | None,
    n: int,
) -> StreamingResponse:
    """The answer as server-sent events, the way servers stream: deltas, finish, [DONE].

    The payload goes out in a few deltas (real servers send one per token; a few keep the
    benchmark about the clerk's cost per call, not per token).
    """
    base = {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n"

    def pieces(text: str) -> list[str]:
        step = max(1, -(-len(text) // 3))
        return [text[i : i + step] for i in range(0, len(text), step)] or [""]

    events = [chunk({"role": "assistant", "content": ""})]
    calls = message.get("tool_calls")
    if calls:
        call = calls[0]
        head = {"index": 0, "id": call["id"], "type": "function"}
        arguments = call["function"]["arguments"]
        for i, part in enumerate(pieces(arguments)):
            function = {"arguments": part}
            if i == 0:
                function["name"] = call["function"]["name"]
            events.append(chunk({"tool_calls": [{**(head if i == 0 else {"index": 0}),
                                                 "function": function}]}))  # fmt: skip
    else:
        events += [chunk({"content": part}) for part in pieces(message.get("content") or "")]
    events.append(chunk({}, finish))
    if usage is not None:
        events.append(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n")
    events.append("data: [DONE]\n\n")
    return StreamingResponse(iter(events), media_type="text/event-stream")


@contextmanager
def serve_fake_openai(
    script: FakeScript | Responder | Sequence[Reply] | None = None, *, port: int = 0
) -> Iterator[str]:
    """Serve ``script`` on 127.0.0.1 in a thread; yield the base URL (``.../v1``)."""
    if script is None:
        script = FakeScript()
    elif callable(script) and not isinstance(script, FakeScript):
        script = FakeScript(responder=script)
    elif not isinstance(script, FakeScript):
        script = FakeScript(script)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    config = uvicorn.Config(
        create_app(script),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        backlog=512,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake OpenAI server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _stems(title: str, exclude: str) -> set[str]:
    """Four-letter stems of a title's content words: "closed" and "close" meet at "clos"."""
    words = re.findall(r"[a-z]+", title.lower())
    return {w[:4] for w in words if len(w) >= 4 and w.rstrip("s") != exclude} - _COMMON


def _about(sentence: str, topic: set[str]) -> bool:
    """Whether a sentence speaks of the outcome at all (any stem of its title)."""
    return not topic or any(w[:4] in topic for w in re.findall(r"[a-z]+", sentence.lower()))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 3]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def main(argv: list[str] | None = None) -> None:
    """Serve the oracle until interrupted, for trying the clerk against a local endpoint."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    args = parser.parse_args(argv)
    with serve_fake_openai(FakeScript(latency=args.latency), port=args.port) as base_url:
        print(f"CLERK_LLM=openai:fake-model CLERK_OPENAI_BASE_URL={base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
