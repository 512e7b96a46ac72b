"""The LLM drafter: one structured call per account outcome to any OpenAI-compatible endpoint.

``LLMDrafter(settings, store, sweep_id)`` words the claim of a computed calculation, finds
customer statements and negative signals, all in one structured call into ``OutcomeAnswer``,
asked for in the mode the server supports (``clerk.drafting.llm_modes``: json_schema, then
JSON mode with the schema, then a named tool, then JSON in the prompt; a capability miss
steps down and is remembered per endpoint and model). It posts the request and reads the
streamed answer itself: LangChain's ``with_structured_output`` covers neither JSON mode with
a schema nor the prompt mode, and its per-call CPU was most of the clerk's. It never trusts
the answer: everything passes ``clerk.drafting.llm_guard`` (verbatim quotes located by us,
numbers and wording verified by ``clerk.engine.verify``), and it only adds to the
extractive drafter's findings (``merge_findings``). It never lets the provider break a
sweep either: retries with backoff and jitter (honouring ``Retry-After``), one lean repair
round for an invalid answer, then the extractive drafter for that outcome; a circuit
breaker and a token budget stop calling for the rest of the run. Every call lands in
``llm_calls``; every valid answer in ``llm_cache``, so a re-sweep over unchanged evidence
makes no HTTP call at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import openai
from pydantic import ValidationError

from clerk.domain.models import Evidence
from clerk.drafting.base import Drafter, DraftRequest, DraftResult
from clerk.drafting.llm_faults import (
    BREAKER_NOTE,
    CallTimeout,
    CircuitBreaker,
    describe,
    is_retryable,
    retry_after,
)
from clerk.drafting.llm_guard import (
    INJECTION_NOTE,
    OutcomeAnswer,
    coerce_answer,
    guard_answer,
    merge_findings,
    screen_evidence,
)
from clerk.drafting.llm_modes import (
    MODES,
    Mode,
    answer_payload,
    capability_miss,
    merge_system,
    next_mode,
    request_body,
    schema_max_tokens,
    with_schema_in_prompt,
)
from clerk.drafting.llm_usage import (
    CallRecord,
    CallStatus,
    ModeMemory,
    cache_get,
    prompt_hash,
    remember_mode,
    remembered_mode,
    write_calls,
)
from clerk.settings import Settings, get_settings
from clerk.store import Store
from prompts import NO_EVIDENCE, evidence_block, get_prompts

log = logging.getLogger("clerk.llm")

Method = Literal["auto", "json_schema", "json_mode", "function_calling", "prompt"]
TASK_DRAFT = "draft_outcome"
TASK_REPAIR = "repair"
# Fixed phrases of notes (tests and the review UI look for them).
BUDGET_NOTE = "token budget of {budget} tokens for this sweep spent: not calling the model"
FALLBACK_NOTE = "drafted by the extractive drafter because the model call failed"
REPAIRED_NOTE = "the model's first answer was invalid and was repaired"
CLAIM_FALLBACK_NOTE = "claim worded by the extractive drafter (no usable claim from the model)"
# Bounds the prompt so one outcome with a huge ticket history cannot eat the token budget.
MAX_EVIDENCE_CHARS = 24_000
LOCAL_EVIDENCE_CHARS = 5_000
MAX_RETRY_AFTER = 60.0
# The repair request quotes at most this much of the broken answer.
MAX_REPAIR_ECHO = 1_200
# Unusable answers in a row, in a mode that never gave a usable one, before stepping down.
INVALID_STEP_DOWN = 3
# llm_calls rows (and the answers to cache) are written in batches of this many, or sooner
# when no draft is in flight or the oldest waited this long: a commit per call was a third
# of the clerk's CPU per call. A killed sweep loses at most one batch (answers asked again).
LEDGER_BATCH = 32
LEDGER_SECONDS = 2.0
_SCHEMA = OutcomeAnswer.model_json_schema()
DEFAULT_MAX_TOKENS = schema_max_tokens(_SCHEMA)


class _Stopped(Exception):
    """The breaker opened or the budget ran out before this call could be sent."""


class _InvalidAnswer(Exception):
    """The provider answered, but not with JSON that fits the schema."""

    def __init__(self, error: str, raw_text: str) -> None:
        super().__init__(error)
        self.raw_text = raw_text


@dataclass
class _Tally:
    """What one logical call cost, across its attempts."""

    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    # The breaker already counted every failed attempt except rate limits (see _send).
    rate_limited: bool = False
    mode: Mode | None = None
    misses: int = 0  # requests a server refused as a capability miss (stepped down)
    seconds: float = 0.0  # time on the wire, queueing inside the clerk excluded


@dataclass
class _Reply:
    """What one response carried: the content, the named tool's arguments, usage."""

    content: str | None = None
    tool_arguments: str | None = None
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    chunks: int = 0

    def text(self) -> str:
        return self.tool_arguments if self.tool_arguments else self.content or ""


@dataclass
class _LoopState:
    """The HTTP client and the semaphore live per event loop: neither may cross loops."""

    semaphore: asyncio.Semaphore
    http: Any  # the SDK's async HTTP client (httpx or httpx2, by openai version)
    url: str
    headers: dict[str, str]


def call_timeout(settings: Settings) -> float:
    """Seconds one call may take once sent: the setting, else 60 remote and 180 local."""
    if settings.llm_timeout is not None:
        return settings.llm_timeout
    return 180.0 if settings.llm_is_local else 60.0


async def server_slots(settings: Settings, http: Any = None) -> int:
    """Calls the server serves at once: the setting, llama.cpp's ``/props``, or a default.

    llama.cpp's ``llama-server`` reports ``total_slots``; llama-cpp-python serves one request
    at a time and Ollama's parallelism is not visible, so any other local server gets 1 (a
    second call would only wait in the server's queue, where the clerk's timeout would count
    it). A remote API gets 8.
    """
    if settings.llm_max_concurrency:
        return max(1, settings.llm_max_concurrency)
    if not settings.llm_is_local:
        return 8
    root = settings.llm_endpoint.removesuffix("/v1")
    close = http is None
    client = http or openai.DefaultAsyncHttpxClient(timeout=3.0)
    try:
        response = await client.get(f"{root}/props", timeout=3.0)
        slots = response.json().get("total_slots") if response.status_code == 200 else None
        return max(1, int(slots)) if isinstance(slots, int | float) else 1
    except Exception:  # noqa: BLE001 - no /props: assume one slot
        return 1
    finally:
        if close:
            await client.aclose()


class LLMDrafter:
    """Drafts through a chat model behind an OpenAI-compatible API, guarded and cached.

    ``settings.llm`` must be ``openai:<model>``. ``store`` receives ``llm_calls`` rows, the
    answer cache and the mode that works (without one, nothing is recorded or cached).
    ``sweep_id`` tags the rows. One instance is one run: its breaker and token budget span
    every ``draft`` call.
    """

    # The sweep hands a drafter that sets this the search-ranked passages first, which
    # matters here: the prompt keeps only the first settings.llm_max_evidence_chars of evidence.
    ranked_evidence = True

    def __init__(
        self,
        settings: Settings | None = None,
        store: Store | None = None,
        sweep_id: int | None = None,
        *,
        method: Method | None = None,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        fallback: Drafter | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        provider, _, model = self.settings.llm.partition(":")
        if provider != "openai" or not model:
            raise ValueError(
                f"LLMDrafter needs CLERK_LLM=openai:<model>, not {self.settings.llm!r}"
            )
        key = self.settings.openai_api_key
        if self.settings.openai_base_url is None and not (key and key.get_secret_value()):
            # Fail at start-up, not as a 401 per outcome: this is configuration, not a fault.
            raise ValueError(
                f"CLERK_LLM={self.settings.llm} needs OPENAI_API_KEY (or CLERK_OPENAI_API_KEY), "
                "or CLERK_OPENAI_BASE_URL pointing at a local OpenAI-compatible server"
            )
        self.model = model
        self.name = f"openai:{model}"
        self.store = store
        self._sweep_id = sweep_id
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.prompts = get_prompts()  # a broken prompt file fails here, at start-up
        self.breaker = CircuitBreaker(self.settings.llm_breaker_threshold)
        self.tokens_used = 0
        self.http_calls = 0  # requests sent, counting retries and repairs
        self._budget_logged = False
        self._fallback = fallback
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self.timeout = call_timeout(self.settings)
        self.max_tokens = self.settings.llm_max_tokens or DEFAULT_MAX_TOKENS
        self.max_evidence_chars = self.settings.llm_max_evidence_chars or (
            LOCAL_EVIDENCE_CHARS if self.settings.llm_is_local else MAX_EVIDENCE_CHARS
        )
        self.concurrency: int | None = self.settings.llm_max_concurrency or (
            None if self.settings.llm_is_local else 8
        )
        self._stream_usage = True
        self._ledger: list[tuple[CallRecord, dict[str, Any] | None]] = []
        self._ledger_since = 0.0
        self._unwritten: dict[str, dict[str, Any]] = {}  # answers in the ledger, by prompt hash
        self._in_flight = 0
        self.misses: dict[str, str] = {}  # mode -> why the server refused it
        self._invalid: dict[str, int] = {}
        self._proven: set[str] = set()
        self._memory = (
            remembered_mode(self.store, self.settings.llm_endpoint, model)
            if self.store is not None
            else None
        )
        chosen = method or self.settings.llm_method
        if chosen == "auto":
            remembered = self._memory.mode if self._memory else None
            self.mode: Mode = next((m for m in MODES if m == remembered), "json_schema")
        else:
            self.mode = chosen
        role = self.settings.llm_system_role
        self.merge_system = role == "merge" or (
            role == "auto" and self._memory is not None and self._memory.system_honoured is False
        )

    @property
    def method(self) -> Mode:
        """The structured-output mode calls are sent in now (it steps down on misses)."""
        return self.mode

    @property
    def sweep_id(self) -> int | None:
        """The sweep whose ``llm_calls`` rows this drafter writes (set by the sweep)."""
        return self._sweep_id

    @sweep_id.setter
    def sweep_id(self, value: int | None) -> None:
        # A new sweep is a new run: a drafter reused across sweeps (a scheduler holding it)
        # starts each one with a closed breaker and a full token budget.
        if value != self._sweep_id:
            self.breaker = CircuitBreaker(self.settings.llm_breaker_threshold)
            self.tokens_used = 0
            self._budget_logged = False
        self._sweep_id = value

    # --- the Drafter method --------------------------------------------------------------

    async def draft(self, request: DraftRequest) -> DraftResult:
        """Draft one outcome; whatever the provider does, return a result."""
        self._in_flight += 1
        try:
            result = await self._draft(request)
        except Exception as exc:  # a sweep never dies of a provider fault, nor of a surprise
            log.exception("%s/%s: model drafting failed", request.account.id, request.outcome.id)
            result = await self._fall_back(request, [f"{FALLBACK_NOTE}: {describe(exc)}"])
        finally:
            self._in_flight -= 1
        ledger = self._ledger
        if ledger and (
            self._in_flight == 0
            or len(ledger) >= LEDGER_BATCH
            or time.monotonic() - self._ledger_since >= LEDGER_SECONDS
        ):
            await self.flush()
        return result

    async def flush(self) -> None:
        """Write the ``llm_calls`` rows and cached answers not written yet (one transaction).

        ``draft`` calls it when no other draft is in flight, so a caller that awaited its
        drafts finds every row written.
        """
        batch, self._ledger = self._ledger, []
        if not batch or self.store is None:
            return
        try:
            # Off the event loop: the calls in flight keep streaming meanwhile.
            await asyncio.to_thread(write_calls, self.store, batch)
        except Exception:  # the ledger must not break a sweep; the drafts are unaffected
            log.exception("could not write %d llm_calls rows", len(batch))
        finally:
            for record, answer in batch:
                if answer is not None:
                    self._unwritten.pop(record.prompt_hash, None)

    async def _draft(self, request: DraftRequest) -> DraftResult:
        offered, suspicious = screen_evidence(request.evidence, request.sources)
        notes = [f"{INJECTION_NOTE}: {sid} ({phrase!r})" for sid, phrase in suspicious.items()]
        offered, truncated = _bounded(offered, self.max_evidence_chars)
        if truncated:
            notes.append(f"{truncated} evidence passages left out to bound the prompt")
        messages = self.messages(request, offered)
        # Not keyed by mode: a valid answer is valid however it was asked for.
        key = prompt_hash(self.model, messages, _SCHEMA, "structured")

        answer = await self._cached(key, request)
        if answer is None:
            if (reason := self._stop_reason()) is not None:
                self._record(request, TASK_DRAFT, key, "skipped", _Tally(), None, reason)
                return await self._fall_back(request, [*notes, reason])
            answer, error, stopped = await self._call(messages, request, key)
            if answer is None:
                note = error if stopped else f"{FALLBACK_NOTE}: {error}"
                return await self._fall_back(request, [*notes, note])
            if error:
                notes.append(f"{REPAIRED_NOTE}: {error}")

        guarded = guard_answer(answer, request, offered, suspicious)
        # The model adds to the extractive findings and never removes one (merge_findings).
        base = await self._extractive_draft(request)
        result = merge_findings(base, guarded, self.name)
        result.notes = [*notes, *result.notes]
        computed = request.calculation is not None or request.delivered is not None
        if guarded.claim is None and computed and result.claim:
            result.notes.append(CLAIM_FALLBACK_NOTE)
        return result

    # --- prompt ---------------------------------------------------------------------------

    def messages(self, request: DraftRequest, evidence: list[Evidence]) -> list[dict[str, str]]:
        """The system and user messages for one outcome, as role/content dicts."""
        p = self.prompts
        outcome = request.outcome
        computed = request.calculation is not None or request.delivered is not None
        tasks = [
            p["task_claim"].render(unit=outcome.unit) if computed else p["task_no_claim"].render(),
            p["task_statements"].render(outcome_title=outcome.title, unit=outcome.unit),
            p["task_signals"].render(outcome_title=outcome.title),
        ]
        blocks = [
            evidence_block(ev.source_id, ev.kind, ev.date.date().isoformat(), ev.customer, ev.text)
            for ev in evidence
        ]
        user = p["outcome"].render(
            account_name=request.account.name,
            outcome_title=outcome.title,
            outcome_id=outcome.id,
            period_label=_period_label(request),
            facts=json.dumps(_facts(request), indent=1, ensure_ascii=False),
            tasks="\n\n".join(t.strip() for t in tasks),
            evidence="\n\n".join(blocks) if blocks else NO_EVIDENCE,
        )
        return [
            {"role": "system", "content": p["system"].render().strip()},
            {"role": "user", "content": user.strip()},
        ]

    # --- the call -------------------------------------------------------------------------

    async def _call(
        self, messages: list[dict[str, str]], request: DraftRequest, key: str
    ) -> tuple[OutcomeAnswer | None, str, bool]:
        """One logical call plus at most one lean repair round.

        Returns (answer, "", False) on success, (answer, first error, False) after a repair,
        (None, error, False) on failure and (None, reason, True) when the breaker or the
        budget stopped it before it was sent.
        """
        first_error = ""
        chat = list(messages)
        for task in (TASK_DRAFT, TASK_REPAIR):
            tally = _Tally()
            started = time.perf_counter()
            error: str | None = None
            answer: OutcomeAnswer | None = None
            invalid: _InvalidAnswer | None = None
            try:
                answer = await self._invoke(chat, tally)
            except _Stopped as exc:
                status: CallStatus = "skipped" if tally.attempts == 0 else "failed"
                self._record(request, task, key, status, tally, started, str(exc))
                return None, str(exc), True
            except _InvalidAnswer as exc:
                invalid, error = exc, f"invalid answer: {exc}"
            except Exception as exc:  # provider fault after retries, or one not worth retrying
                # Recorded in llm_calls (`clerk llm`) and returned as the drafter's note.
                log.warning(
                    "%s/%s %s: model call failed",
                    request.account.id,
                    request.outcome.id,
                    task,
                    exc_info=True,
                )
                error = describe(exc)
            retried = tally.attempts - tally.misses > 1
            status = "failed" if answer is None else "retried" if retried else "ok"
            # A valid answer is cached in the same transaction that records the call.
            self._record(request, task, key, status, tally, started, error, answer)
            if answer is not None:
                self.breaker.success()
                return answer, first_error, False
            if invalid is not None or tally.rate_limited:
                self.breaker.failure()
            if invalid is None or task == TASK_REPAIR or self.breaker.open:
                return None, error or "no answer", False
            first_error = error or ""
            # Lean: the broken answer goes back once, cut short, and never as an assistant
            # turn as well (that doubled the prompt on a small local model).
            previous = invalid.raw_text[:MAX_REPAIR_ECHO] or "(empty)"
            if len(invalid.raw_text) > MAX_REPAIR_ECHO:
                previous += " [...]"
            repair = self.prompts["repair"].render(error=str(invalid), previous_answer=previous)
            chat = [*messages, {"role": "user", "content": repair.strip()}]
        return None, "no answer", False  # pragma: no cover - the loop always returns

    async def _invoke(self, chat: list[dict[str, str]], tally: _Tally) -> OutcomeAnswer:
        """Send one request, retrying provider faults and stepping down on capability misses.

        Raises _InvalidAnswer when the server answered but not with a usable object.
        """
        state = await self._loop_state()
        # A plain loop, not tenacity's: its per-call setup cost more CPU than the request.
        reply: _Reply | None = None
        attempt = 0
        while reply is None:
            attempt += 1
            try:
                reply = await self._send_stepping_down(state, chat, tally)
            except Exception as exc:
                retry = is_retryable(exc) and attempt <= self.settings.llm_max_retries
                if not retry or self.breaker.open:  # the breaker stops retries mid-call too
                    raise
                await asyncio.sleep(self._delay(attempt, exc))
        assert reply is not None
        mode = tally.mode or self.mode
        try:
            answer, dropped = coerce_answer(answer_payload(reply.content, reply.tool_arguments))
        except (ValueError, ValidationError) as exc:
            problem = _short_error(exc)
            if reply.finish_reason == "length":
                problem = f"the answer was cut off at max_tokens={self.max_tokens} ({problem})"
            self._invalid_in(mode)
            raise _InvalidAnswer(problem, reply.text()) from exc
        self._works(mode)
        if dropped:
            log.info("dropped %d malformed list entries from the model's answer", dropped)
        return answer

    async def _send_stepping_down(
        self, state: _LoopState, chat: list[dict[str, str]], tally: _Tally
    ) -> _Reply:
        """One HTTP request in the current mode; a capability miss moves to the next mode."""
        while True:
            try:
                return await self._send(state, chat, tally)
            except openai.APIStatusError as exc:
                cause = capability_miss(exc)
                if cause is None:
                    raise
                if "stream_options" in cause and self._stream_usage:
                    self._stream_usage = False  # the server takes streams, not that option
                    continue
                tally.misses += 1
                if not self._miss(tally.mode or self.mode, cause):
                    raise

    async def _send(self, state: _LoopState, chat: list[dict[str, str]], tally: _Tally) -> _Reply:
        try:
            async with state.semaphore:
                # Checked again once admitted: calls queued behind the semaphore must not go
                # out after the breaker opened or the budget ran dry.
                if (reason := self._stop_reason()) is not None:
                    raise _Stopped(reason)
                # The mode is read once admitted: calls that queued while another stepped
                # down go out in the new mode, not the refused one.
                mode = self.mode
                messages = chat
                if mode in ("json_mode", "prompt"):
                    messages = with_schema_in_prompt(messages, _SCHEMA)
                if self.merge_system:
                    messages = merge_system(messages)
                body = request_body(
                    mode,
                    self.model,
                    messages,
                    _SCHEMA,
                    max_tokens=self.max_tokens,
                    temperature=self.settings.llm_temperature,
                )
                tally.attempts += 1
                tally.mode = mode
                self.http_calls += 1
                sent = time.perf_counter()
                # The timeout starts here, once admitted: time queued in the clerk is not the
                # server's. On expiry the request is cancelled and its connection closed, which
                # stops a streaming server generating for nobody.
                try:
                    async with asyncio.timeout(self.timeout):
                        reply = await self._request(state, body)
                except TimeoutError:
                    raise CallTimeout(self.timeout) from None
                finally:
                    tally.seconds += time.perf_counter() - sent
                # Counted before the next call is admitted, so the budget holds.
                tokens_in = reply.tokens_in or _estimate_tokens(messages)
                tokens_out = reply.tokens_out or reply.chunks
                tally.tokens_in += tokens_in
                tally.tokens_out += tokens_out
                self.tokens_used += tokens_in + tokens_out
                return reply
        except (_Stopped, CallTimeout):
            if not isinstance(sys.exc_info()[1], _Stopped):
                self.breaker.failure()
            raise
        except openai.APIStatusError as exc:
            if capability_miss(exc) is not None:
                raise  # not a fault of the server's health: never toward the breaker
            self._count_fault(exc, tally)
            raise
        except Exception as exc:
            self._count_fault(exc, tally)
            raise

    def _count_fault(self, exc: BaseException, tally: _Tally) -> None:
        # A rate limit is the provider pacing us, not failing; Retry-After handles it, and
        # only a call that stays rate limited to the end counts as failed.
        tally.rate_limited = isinstance(exc, openai.APIStatusError) and exc.status_code == 429
        if not tally.rate_limited:
            self.breaker.failure()

    async def _request(self, state: _LoopState, body: dict[str, Any]) -> _Reply:
        """POST one chat completion and read the answer (streamed or whole).

        Straight over the SDK's HTTP client rather than through the SDK's typed models: at a
        few hundred calls in flight the models' construction per chunk was most of the
        clerk's CPU per call. Errors are raised as the SDK's own exception classes, so retry,
        breaker and capability handling read them as before.
        """
        stream = self.settings.llm_stream
        payload = dict(body)
        if stream:
            payload["stream"] = True
            if self._stream_usage:
                payload["stream_options"] = {"include_usage": True}
        request = state.http.build_request(
            "POST", state.url, content=json.dumps(payload).encode(), headers=state.headers
        )
        try:
            response = await state.http.send(request, stream=True)
        except openai.APIConnectionError:
            raise
        except Exception as exc:
            if not _is_transport_error(exc):
                raise
            raise openai.APIConnectionError(message=f"{type(exc).__name__}: {exc}",
                                            request=request) from exc  # fmt: skip
        try:
            if response.status_code >= 400:
                await response.aread()
                raise _status_error(response)
            if not stream or "event-stream" not in response.headers.get("content-type", ""):
                await response.aread()
                return _whole_reply(response.json())
            return await _streamed_reply(response)
        finally:
            await response.aclose()

    # --- modes ----------------------------------------------------------------------------

    def _miss(self, mode: Mode, cause: str) -> bool:
        """Record that ``mode`` is not supported; step down. False when none is left."""
        self.misses[mode] = cause
        if self.mode != mode:
            return True  # another call already stepped down; try the current mode
        following = next_mode(mode)
        if following is None:
            return False
        log.warning(
            "%s does not support %s (%s): asking with %s instead",
            self.settings.llm_endpoint, mode, cause, following,
        )  # fmt: skip
        self.mode = following
        return True

    def _invalid_in(self, mode: Mode) -> None:
        """A mode the server accepts but whose answers never parse is stepped down too."""
        if mode in self._proven:
            return
        self._invalid[mode] = self._invalid.get(mode, 0) + 1
        if self._invalid[mode] >= INVALID_STEP_DOWN and self.mode == mode:
            self._miss(mode, f"{self._invalid[mode]} unusable answers in a row, none usable")

    def _works(self, mode: Mode) -> None:
        self._invalid.pop(mode, None)
        if mode in self._proven:
            return
        self._proven.add(mode)
        if self.store is not None and (self._memory is None or self._memory.mode != mode):
            self._memory = ModeMemory(
                endpoint=self.settings.llm_endpoint,
                model=self.model,
                mode=mode,
                system_honoured=self._memory.system_honoured if self._memory else None,
                misses={k: v for k, v in self.misses.items() if k != mode},
                source="sweep",
            )
            remember_mode(self.store, self._memory)

    def _delay(self, attempt: int, exc: BaseException) -> float:
        """Exponential backoff with full jitter, but never sooner than Retry-After says."""
        backoff = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        asked = retry_after(exc)
        if asked is None:
            return backoff
        return min(asked, MAX_RETRY_AFTER) + backoff * 0.1

    async def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            # One client per event loop: a pooled connection cannot outlive its loop. The
            # HTTP timeout is a backstop; the call's own timeout is asyncio's (see _send).
            http = openai.DefaultAsyncHttpxClient(timeout=self.timeout + 30)
            key = self.settings.openai_api_key
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if key and key.get_secret_value():  # local servers need none
                headers["Authorization"] = f"Bearer {key.get_secret_value()}"
            url = f"{self.settings.llm_endpoint}/chat/completions"
            if self.concurrency is None:
                self.concurrency = await server_slots(self.settings, http)
            state = self._loops.get(loop)  # another call may have built it meanwhile
            if state is None:
                state = _LoopState(asyncio.Semaphore(self.concurrency), http, url, headers)
                self._loops[loop] = state
            else:
                await http.aclose()
        return state

    async def aclose(self) -> None:
        """Close this event loop's HTTP connections (optional; sweeps may call it at the end)."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.http.aclose()

    # --- cache, records, fallbacks ----------------------------------------------------------

    async def _cached(self, key: str, request: DraftRequest) -> OutcomeAnswer | None:
        if self.store is None:
            return None
        # A primary-key read, on the loop like the sweep's other reads: a thread hop per call
        # cost more CPU than the read.
        stored = self._unwritten.get(key) or cache_get(self.store, key)
        if stored is None:
            return None
        try:
            answer = OutcomeAnswer.model_validate(stored)
        except ValidationError:
            return None  # written by an older schema: ask again
        self._record(request, TASK_DRAFT, key, "cached", _Tally(), None, None)
        return answer

    def _stop_reason(self) -> str | None:
        """Why the model may not be called any more this run, or None if it may."""
        if self.breaker.open:
            return BREAKER_NOTE.format(n=self.breaker.consecutive)
        if self.tokens_used >= self.settings.llm_token_budget:
            reason = BUDGET_NOTE.format(budget=self.settings.llm_token_budget)
            if not self._budget_logged:
                self._budget_logged = True
                log.warning("%s for the rest of this run", reason)
            return reason
        return None

    def _record(
        self,
        request: DraftRequest,
        task: str,
        key: str,
        status: CallStatus,
        tally: _Tally,
        started: float | None,
        error: str | None,
        answer: OutcomeAnswer | None = None,
    ) -> None:
        if self.store is None:
            return
        record = CallRecord(
            task=task,
            model=self.model,
            prompt_hash=key,
            status=status,
            sweep_id=self.sweep_id,
            account_id=request.account.id,
            outcome_id=request.outcome.id,
            tokens_in=tally.tokens_in,
            tokens_out=tally.tokens_out,
            # Time on the wire: what the server took, not the wait for a slot in the clerk.
            latency_ms=0.0 if started is None else tally.seconds * 1000,
            attempts=tally.attempts,
            error=error,
            mode=tally.mode,
        )
        response = None if answer is None else answer.model_dump(mode="json")
        if response is not None:
            self._unwritten[key] = response
        if not self._ledger:
            self._ledger_since = time.monotonic()
        self._ledger.append((record, response))

    async def _fall_back(self, request: DraftRequest, notes: list[str]) -> DraftResult:
        log.info("%s/%s: %s", request.account.id, request.outcome.id, notes[-1])
        result = await self._extractive_draft(request)
        result.notes = [*notes, *result.notes]
        return result

    async def _extractive_draft(self, request: DraftRequest) -> DraftResult:
        if self._fallback is None:
            from clerk.drafting.extractive import ExtractiveDrafter

            self._fallback = ExtractiveDrafter()
        return await self._fallback.draft(request)


def _bounded(evidence: list[Evidence], limit: int) -> tuple[list[Evidence], int]:
    kept: list[Evidence] = []
    size = 0
    for ev in evidence:
        size += len(ev.text)
        if size > limit and kept:
            break
        kept.append(ev)
    return kept, len(evidence) - len(kept)


def _period_label(request: DraftRequest) -> str:
    period = request.period
    return period.label or f"{period.start.isoformat()} to {period.end.isoformat()} (exclusive)"


def _facts(request: DraftRequest) -> dict[str, Any]:
    """The engine's numbers, the only numbers a calculation claim may use."""
    outcome = request.outcome
    facts: dict[str, Any] = {
        "outcome": outcome.title,
        "unit": outcome.unit,
        "direction": outcome.direction,
        "period": _period_label(request),
        "target": request.target,
        "baseline": outcome.baseline,
        "delivered": request.delivered,
        "attainment": request.attainment,
    }
    if request.calculation is not None:
        facts["formula"] = request.calculation.formula
        facts["inputs"] = [
            {"name": i.name, "value": i.value, "unit": i.unit} for i in request.calculation.inputs
        ]
    return facts


_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def _status_error(response: Any) -> openai.APIStatusError:
    """The SDK's exception for an error response, with the server's body."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else None
    status = response.status_code
    cls = _STATUS_ERRORS.get(status) or (
        openai.InternalServerError if status >= 500 else openai.APIStatusError
    )
    text = f"Error code: {status} - {message or body}"
    return cls(text, response=response, body=error if isinstance(error, dict) else body)


def _is_transport_error(exc: BaseException) -> bool:
    """A connection-level failure of the HTTP client (httpx or httpx2), not ours."""
    return any(c.__name__ in ("TransportError", "HTTPError") for c in type(exc).__mro__)


def _whole_reply(data: dict[str, Any]) -> _Reply:
    reply = _Reply()
    choice = (data.get("choices") or [None])[0]
    if isinstance(choice, dict):
        message = choice.get("message") or {}
        reply.content = message.get("content")
        calls = message.get("tool_calls") or []
        if calls:
            reply.tool_arguments = (calls[0].get("function") or {}).get("arguments") or ""
        reply.finish_reason = choice.get("finish_reason")
    usage = data.get("usage") or {}
    reply.tokens_in = int(usage.get("prompt_tokens") or 0)
    reply.tokens_out = int(usage.get("completion_tokens") or 0)
    return reply


async def _streamed_reply(response: Any) -> _Reply:
    """Read server-sent events: content and the first tool call's arguments, in order.

    Lines are split from the body's bytes here: the HTTP client's text and line decoders
    cost more CPU per event than the JSON of the event.
    """
    reply = _Reply()
    content: list[str] = []
    arguments: list[str] = []
    state = {"tool": False, "done": False}

    def event(line: bytes) -> None:
        # Read to the end of the body even after [DONE]: a response left half-read closes
        # its connection, and a new connection per call cost more CPU than the call itself.
        if state["done"] or not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            state["done"] = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            return
        if not isinstance(chunk, dict):
            return
        if chunk.get("error"):
            raise _stream_error(response, chunk["error"])
        usage = chunk.get("usage")
        if usage:
            reply.tokens_in = int(usage.get("prompt_tokens") or 0)
            reply.tokens_out = int(usage.get("completion_tokens") or 0)
        choices = chunk.get("choices") or []
        if not choices:
            return
        choice = choices[0]
        reply.chunks += 1
        delta = choice.get("delta") or {}
        if text := delta.get("content"):
            content.append(text)
        for call in delta.get("tool_calls") or []:
            if call.get("index", 0) not in (0, None):
                continue  # one named tool: later calls are noise
            state["tool"] = True
            if piece := (call.get("function") or {}).get("arguments"):
                arguments.append(piece)
        if choice.get("finish_reason"):
            reply.finish_reason = choice["finish_reason"]

    pending = b""
    async for part in response.aiter_bytes():
        pending += part
        *lines, pending = pending.split(b"\n")
        for line in lines:
            event(line)
    event(pending)
    reply.content = "".join(content) or None
    reply.tool_arguments = "".join(arguments) if state["tool"] else None
    return reply


def _stream_error(response: Any, error: Any) -> openai.APIStatusError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    return openai.InternalServerError(f"Error in stream - {message}", response=response, body=error)


def _estimate_tokens(messages: list[dict[str, str]]) -> int:
    """About four characters a token, for servers that report no usage when streaming."""
    return sum(len(m["content"]) for m in messages) // 4 + 1


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        details: list[Any] = list(exc.errors())
        first: dict[str, Any] = dict(details[0]) if details else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return f"{exc.error_count()} schema error(s), first at {where or 'the top'}: " + str(
            first.get("msg", "")
        )
    return str(exc)[:300]
