"""Probe an OpenAI-compatible endpoint: which structured-output modes work, and how fast.

``probe_endpoint(settings)`` sends one tiny request per mode (``clerk.drafting.llm_modes``),
then one that puts a password only in the system message to see whether the server passes
system messages to the model at all (llama-cpp-python with ``--chat_format gemma`` drops
them silently). ``clerk llm check`` prints the result and remembers the working mode for the
endpoint and model, which the next sweep then starts with.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import openai

from clerk.drafting.llm_faults import describe
from clerk.drafting.llm_modes import (
    MODES,
    Mode,
    answer_payload,
    capability_miss,
    request_body,
    with_schema_in_prompt,
)
from clerk.settings import Settings

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"word": {"type": "string"}},
    "required": ["word"],
}
PROBE_MESSAGES = [
    {"role": "system", "content": "You answer with one JSON object."},
    {"role": "user", "content": 'Return the JSON object {"word": "ready"}.'},
]
PROBE_MAX_TOKENS = 48


class EndpointError(Exception):
    """The endpoint cannot be used at all: unreachable, wrong key, unknown model."""


@dataclass
class ModeProbe:
    mode: Mode
    works: bool
    cause: str  # one line: what came back, or why the mode does not work
    latency_s: float
    capability_miss: bool = False


@dataclass
class CheckReport:
    endpoint: str
    model: str
    probes: list[ModeProbe] = field(default_factory=list)
    system_honoured: bool | None = None
    system_detail: str = ""

    @property
    def chosen(self) -> Mode | None:
        """The first mode that works: the one a sweep will use."""
        return next((p.mode for p in self.probes if p.works), None)

    @property
    def misses(self) -> dict[str, str]:
        return {p.mode: p.cause for p in self.probes if not p.works}


def _client(settings: Settings, timeout: float) -> openai.AsyncOpenAI:
    key = settings.openai_api_key
    return openai.AsyncOpenAI(
        base_url=settings.openai_base_url,
        api_key=key.get_secret_value() if key and key.get_secret_value() else "none",
        max_retries=0,
        timeout=timeout,
    )


def _fatal(exc: BaseException, settings: Settings) -> EndpointError | None:
    """The error as an EndpointError when it means no mode can work, else None."""
    where = settings.llm_endpoint
    if isinstance(exc, openai.APITimeoutError):
        return None
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return EndpointError(f"cannot reach {where}: {type(cause).__name__}: {cause}")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return EndpointError(
            f"{where} refused the API key ({describe(exc)}); set OPENAI_API_KEY or "
            "CLERK_OPENAI_API_KEY"
        )
    if isinstance(exc, openai.NotFoundError) and capability_miss(exc) is None:
        return EndpointError(
            f"{where} does not know the model or the path ({describe(exc)}); check CLERK_LLM "
            "and CLERK_OPENAI_BASE_URL (it usually ends in /v1)"
        )
    return None


async def _ask(
    client: openai.AsyncOpenAI, mode: Mode, model: str, messages: list[dict[str, str]]
) -> str:
    """One request in ``mode``; the ``word`` the model returned (ValueError if none)."""
    if mode in ("json_mode", "prompt"):
        messages = with_schema_in_prompt(messages, PROBE_SCHEMA)
    body = request_body(
        mode, model, messages, PROBE_SCHEMA, max_tokens=PROBE_MAX_TOKENS, temperature=0.0
    )
    response = await client.chat.completions.create(**body)
    choice = response.choices[0]
    calls = choice.message.tool_calls or []
    function = getattr(calls[0], "function", None) if calls else None
    arguments = function.arguments if function is not None else None
    try:
        payload = answer_payload(choice.message.content, arguments)
    except ValueError as exc:
        shown = (arguments or choice.message.content or "").strip().replace("\n", " ")
        cut = " (cut off at max_tokens)" if choice.finish_reason == "length" else ""
        raise ValueError(f"answer not usable{cut}: {exc}; it began {shown[:50]!r}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("word"), str):
        raise ValueError(f"answer does not fit the schema: {str(payload)[:60]!r}")
    return str(payload["word"])


async def probe_endpoint(settings: Settings, *, timeout: float = 120.0) -> CheckReport:
    """Probe every mode once, then whether system messages reach the model.

    Raises EndpointError when the endpoint cannot be used at all.
    """
    model = settings.llm.partition(":")[2]
    report = CheckReport(settings.llm_endpoint, model)
    client = _client(settings, timeout)
    try:
        for mode in MODES:
            started = time.perf_counter()
            try:
                word = await _ask(client, mode, model, PROBE_MESSAGES)
            except openai.APIError as exc:
                if (fatal := _fatal(exc, settings)) is not None:
                    raise fatal from None
                cause = capability_miss(exc)
                probe = ModeProbe(mode, False, cause or describe(exc), 0.0, cause is not None)
            except ValueError as exc:
                probe = ModeProbe(mode, False, str(exc), 0.0)
            else:
                probe = ModeProbe(mode, True, f"answered {word[:40]!r}", 0.0)
            probe.latency_s = time.perf_counter() - started
            report.probes.append(probe)
        chosen = report.chosen
        if chosen is not None:
            await _probe_system(client, report, chosen, model)
    finally:
        await client.close()
    return report


async def _probe_system(
    client: openai.AsyncOpenAI, report: CheckReport, mode: Mode, model: str
) -> None:
    secret = f"kiwi{secrets.randbelow(9000) + 1000}"
    messages = [
        {"role": "system", "content": f"The password is {secret}."},
        {"role": "user", "content": 'What is the password? Answer {"word": "<the password>"}.'},
    ]
    try:
        word = await _ask(client, mode, model, messages)
    except (openai.APIError, ValueError) as exc:
        report.system_detail = f"not known: {str(exc)[:80]}"
        return
    digits = secret[4:]
    report.system_honoured = digits in word
    if not report.system_honoured:
        # Control: the same password in the user message. A model that cannot repeat it
        # from there either tells nothing about system messages.
        control = [
            {"role": "user", "content": f"The password is {secret}. " + messages[1]["content"]}
        ]
        try:
            repeated = digits in await _ask(client, mode, model, control)
        except (openai.APIError, ValueError):
            repeated = False
        if not repeated:
            report.system_honoured = None
            report.system_detail = (
                f"not known: the model repeats the password from neither the system nor the "
                f"user message (it said {word[:30]!r})"
            )
            return
    report.system_detail = (
        f"the model repeated the password only the system message held ({word[:30]!r})"
        if report.system_honoured
        else f"the model did not repeat the password only the system message held "
        f"(it said {word[:30]!r}); the system prompt will be folded into the user message"
    )


def run_probe(settings: Settings) -> CheckReport:
    """``probe_endpoint`` for synchronous callers (the CLI)."""
    return asyncio.run(probe_endpoint(settings))
