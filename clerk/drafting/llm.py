"""The LLM drafter: one structured call per account outcome to any OpenAI-compatible endpoint.

``LLMDrafter(settings, store, sweep_id)`` words the claim of a computed calculation, finds
customer statements and negative signals, all in one LangChain ``ChatOpenAI`` call with
``with_structured_output`` into ``OutcomeAnswer``. It never trusts the answer: everything
passes ``clerk.drafting.llm_guard`` (verbatim quotes located by us, numbers verified by
``clerk.engine.verify``). It never lets the provider break a sweep either: retries with backoff and
jitter (honouring ``Retry-After``), one repair round for an invalid answer, then the
extractive drafter for that outcome; a circuit breaker and a token budget stop calling for
the rest of the run. Every call lands in ``llm_calls``; every valid answer in ``llm_cache``,
so a re-sweep over unchanged evidence makes no HTTP call at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import openai
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)

from clerk.domain.models import Evidence
from clerk.drafting.base import Drafter, DraftRequest, DraftResult
from clerk.drafting.llm_faults import (
    BREAKER_NOTE,
    BreakerStop,
    CircuitBreaker,
    describe,
    is_retryable,
    retry_after,
)
from clerk.drafting.llm_guard import (
    INJECTION_NOTE,
    OutcomeAnswer,
    guard_answer,
    screen_evidence,
)
from clerk.drafting.llm_usage import CallRecord, CallStatus, cache_get, prompt_hash, record_call
from clerk.settings import Settings, get_settings
from clerk.store import Store
from prompts import NO_EVIDENCE, evidence_block, get_prompts

log = logging.getLogger("clerk.llm")

Method = Literal["json_schema", "function_calling"]
TASK_DRAFT = "draft_outcome"
TASK_REPAIR = "repair"
# Fixed phrases of notes (tests and the review UI look for them).
BUDGET_NOTE = "token budget of {budget} tokens for this sweep spent: not calling the model"
FALLBACK_NOTE = "drafted by the extractive drafter because the model call failed"
REPAIRED_NOTE = "the model's first answer was invalid and was repaired"
CLAIM_FALLBACK_NOTE = "claim worded by the extractive drafter (no usable claim from the model)"
# Bounds the prompt so one outcome with a huge ticket history cannot eat the token budget.
MAX_RETRY_AFTER = 60.0
_SCHEMA = OutcomeAnswer.model_json_schema()


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
    # The breaker already counted every failed attempt except rate limits (see _invoke).
    rate_limited: bool = False

    def add_usage(self, message: Any) -> int:
        """Add a response's token counts; return how many tokens it used."""
        usage = getattr(message, "usage_metadata", None) or {}
        tokens_in = int(usage.get("input_tokens", 0) or 0)
        tokens_out = int(usage.get("output_tokens", 0) or 0)
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        return tokens_in + tokens_out


@dataclass
class _LoopState:
    """Clients and the semaphore live per event loop: neither may cross loops."""

    runnable: Runnable[Any, Any]
    semaphore: asyncio.Semaphore
    http: Any  # the SDK's async HTTP client (httpx or httpx2, by openai version)


class LLMDrafter:
    """Drafts through a chat model behind an OpenAI-compatible API, guarded and cached.

    ``settings.llm`` must be ``openai:<model>``. ``store`` receives ``llm_calls`` rows and
    the answer cache (without one, nothing is recorded or cached). ``sweep_id`` tags the
    rows. One instance is one run: its breaker and token budget span every ``draft`` call.
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
        method: Method = "json_schema",
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
        self.method: Method = method
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
        try:
            return await self._draft(request)
        except Exception as exc:  # a sweep never dies of a provider fault, nor of a surprise
            log.exception("%s/%s: model drafting failed", request.account.id, request.outcome.id)
            return await self._fall_back(request, [f"{FALLBACK_NOTE}: {describe(exc)}"])

    async def _draft(self, request: DraftRequest) -> DraftResult:
        offered, suspicious = screen_evidence(request.evidence, request.sources)
        notes = [f"{INJECTION_NOTE}: {sid} ({phrase!r})" for sid, phrase in suspicious.items()]
        offered, truncated = _bounded(offered, self.settings.llm_max_evidence_chars)
        if truncated:
            notes.append(f"{truncated} evidence passages left out to bound the prompt")
        messages = self.messages(request, offered)
        key = prompt_hash(self.model, messages, _SCHEMA, self.method)

        answer = await self._cached(key, request)
        if answer is None:
            if (reason := self._stop_reason()) is not None:
                await self._record(request, TASK_DRAFT, key, "skipped", _Tally(), None, reason)
                return await self._fall_back(request, [*notes, reason])
            answer, error, stopped = await self._call(messages, request, key)
            if answer is None:
                note = error if stopped else f"{FALLBACK_NOTE}: {error}"
                return await self._fall_back(request, [*notes, note])
            if error:
                notes.append(f"{REPAIRED_NOTE}: {error}")

        guarded = guard_answer(answer, request, offered, suspicious)
        result = DraftResult(
            drafted_by=self.name,
            claim=guarded.claim,
            statements=guarded.statements,
            negative_signals=guarded.negative_signals,
            notes=notes + guarded.notes,
        )
        if result.claim is None and (
            request.calculation is not None or request.delivered is not None
        ):
            fallback = await self._extractive_draft(request)
            if fallback.claim:
                result.claim = fallback.claim
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
        """One logical call plus at most one repair round.

        Returns (answer, "", False) on success, (answer, first error, False) after a repair,
        (None, error, False) on failure and (None, reason, True) when the breaker or the
        budget stopped it before it was sent.
        """
        first_error = ""
        chat: list[BaseMessage] = [
            SystemMessage(messages[0]["content"]),
            HumanMessage(messages[1]["content"]),
        ]
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
                await self._record(request, task, key, status, tally, started, str(exc))
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
            status = "failed" if answer is None else "retried" if tally.attempts > 1 else "ok"
            # A valid answer is cached in the same transaction that records the call.
            await self._record(request, task, key, status, tally, started, error, answer)
            if answer is not None:
                self.breaker.success()
                return answer, first_error, False
            if invalid is not None or tally.rate_limited:
                self.breaker.failure()
            if invalid is None or task == TASK_REPAIR or self.breaker.open:
                return None, error or "no answer", False
            first_error = error or ""
            previous = invalid.raw_text or "(not readable: see the error above)"
            chat += [
                AIMessage(previous),
                HumanMessage(
                    self.prompts["repair"]
                    .render(error=str(invalid), previous_answer=previous)
                    .strip()
                ),
            ]
        return None, "no answer", False  # pragma: no cover - the loop always returns

    async def _invoke(self, chat: list[BaseMessage], tally: _Tally) -> OutcomeAnswer:
        """Send one request, retrying provider faults; raise _InvalidAnswer on a bad answer."""
        state = self._loop_state()
        retrying = AsyncRetrying(
            stop=stop_any(
                stop_after_attempt(self.settings.llm_max_retries + 1), BreakerStop(self.breaker)
            ),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        result: dict[str, Any] = {}
        async for attempt in retrying:
            with attempt:
                try:
                    async with state.semaphore:
                        # Checked again once admitted: calls queued behind the semaphore
                        # must not go out after the breaker opened or the budget ran dry.
                        if (reason := self._stop_reason()) is not None:
                            raise _Stopped(reason)
                        tally.attempts += 1
                        self.http_calls += 1
                        result = await state.runnable.ainvoke(chat)
                        # Counted before the next call is admitted, so the budget holds.
                        self.tokens_used += tally.add_usage(result.get("raw"))
                except _Stopped:
                    raise
                except (ValidationError, OutputParserException, ValueError) as exc:
                    # The json_schema path parses inside the client: a bad answer raises here.
                    raise _InvalidAnswer(describe(exc), "") from exc
                except Exception as exc:
                    # A rate limit is the provider pacing us, not failing; Retry-After handles
                    # it, and only a call that stays rate limited to the end counts as failed.
                    tally.rate_limited = (
                        isinstance(exc, openai.APIStatusError) and exc.status_code == 429
                    )
                    if not tally.rate_limited:
                        self.breaker.failure()
                    raise
        raw = result.get("raw")
        parsed = result.get("parsed")
        if isinstance(parsed, OutcomeAnswer):
            return parsed
        problem = result.get("parsing_error") or _tool_call_error(raw) or "no structured answer"
        raise _InvalidAnswer(str(problem)[:500], _raw_text(raw))

    def _wait(self, retry_state: RetryCallState) -> float:
        """Exponential backoff with full jitter, but never sooner than Retry-After says."""
        backoff = wait_random_exponential(multiplier=self.backoff, max=self.max_backoff)(
            retry_state
        )
        outcome = retry_state.outcome
        asked = retry_after(outcome.exception() if outcome is not None else None)
        if asked is None:
            return backoff
        return min(asked, MAX_RETRY_AFTER) + backoff * 0.1

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            limit = max(1, self.settings.llm_max_concurrency)
            # One client per event loop: a pooled connection cannot outlive its loop, and
            # LangChain's default client is shared process-wide.
            http = openai.DefaultAsyncHttpxClient(timeout=self.settings.llm_timeout)
            key = self.settings.openai_api_key
            chat = ChatOpenAI(
                model=self.model,
                base_url=self.settings.openai_base_url,
                # Local servers ignore the key, but the client refuses to start without one.
                api_key=key.get_secret_value() if key else "not-needed",
                timeout=self.settings.llm_timeout,
                max_retries=0,  # tenacity retries, with backoff we control and record
                use_responses_api=False,  # compatible servers speak chat completions only
                http_async_client=http,
            )
            runnable = chat.with_structured_output(
                OutcomeAnswer, method=self.method, include_raw=True
            )
            state = _LoopState(runnable, asyncio.Semaphore(limit), http)
            self._loops[loop] = state
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
        stored = await asyncio.to_thread(cache_get, self.store, key)
        if stored is None:
            return None
        try:
            answer = OutcomeAnswer.model_validate(stored)
        except ValidationError:
            return None  # written by an older schema: ask again
        await self._record(request, TASK_DRAFT, key, "cached", _Tally(), None, None)
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

    async def _record(
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
            latency_ms=0.0 if started is None else (time.perf_counter() - started) * 1000,
            attempts=tally.attempts,
            error=error,
        )
        # Off the event loop: a blocking insert would stall every other call in flight.
        cached = None if answer is None else (self.model, answer.model_dump(mode="json"))
        await asyncio.to_thread(record_call, self.store, record, key if cached else None, cached)

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


def _bounded(evidence: list[Evidence], max_chars: int) -> tuple[list[Evidence], int]:
    kept: list[Evidence] = []
    size = 0
    for ev in evidence:
        size += len(ev.text)
        if size > max_chars and kept:
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


def _raw_text(message: Any) -> str:
    """What the model actually sent, for the repair prompt."""
    if message is None:
        return ""
    parts: list[str] = []
    content = getattr(message, "content", "")
    if isinstance(content, str) and content:
        parts.append(content)
    for call in getattr(message, "tool_calls", None) or []:
        parts.append(json.dumps(call.get("args", {}), ensure_ascii=False))
    for call in getattr(message, "invalid_tool_calls", None) or []:
        parts.append(str(call.get("args") or ""))
    return "\n".join(parts)[:4000]


def _tool_call_error(message: Any) -> str | None:
    for call in getattr(message, "invalid_tool_calls", None) or []:
        return f"tool call arguments are not valid JSON: {call.get('error') or call.get('args')}"
    return None
