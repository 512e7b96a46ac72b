"""Provider faults: which errors are worth a retry, how long to wait, and the circuit breaker.

Used by the LLM drafter (clerk.drafting.llm); kept apart because none of it depends on what
is being drafted, only on how an OpenAI-compatible endpoint fails.
"""

from __future__ import annotations

import email.utils
import logging
import time

import openai

from clerk.drafting.llm_modes import cause_line, server_message

log = logging.getLogger("clerk.llm")

# Fixed phrase of the note and log line (tests and the review UI look for it).
BREAKER_NOTE = "circuit breaker open after {n} consecutive model failures: not calling the model"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures and stays open for the run.

    A run is one drafter, that is one sweep: a provider outage then costs a few failed
    calls, not every remaining outcome times every retry.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self.consecutive = 0
        self.open = False

    def success(self) -> None:
        if not self.open:
            self.consecutive = 0

    def failure(self) -> None:
        self.consecutive += 1
        if not self.open and self.consecutive >= self.threshold:
            self.open = True
            log.warning(BREAKER_NOTE.format(n=self.consecutive) + " for the rest of this run")


def is_retryable(exc: BaseException) -> bool:
    """Provider faults worth another try: rate limits, 5xx, timeouts, lost connections."""
    if isinstance(exc, openai.APIConnectionError | CallTimeout):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the provider asked us to wait (``retry-after-ms`` or ``Retry-After``)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)  # the HTTP-date form
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def describe(exc: BaseException) -> str:
    """The error as the openai client names it (LangChain wraps those in its own subclasses)."""
    name = next(
        (c.__name__ for c in type(exc).__mro__ if c.__module__.split(".")[0] == "openai"),
        type(exc).__name__,
    )
    if isinstance(exc, openai.APIStatusError):
        # The server's meaningful line, not the client's "Error code: 500 - 1 validation error:".
        return f"{name} (HTTP {exc.status_code}): {cause_line(server_message(exc))}"[:500]
    return f"{name}: {exc}"[:500]


class CallTimeout(Exception):
    """A call took longer than the timeout once sent; it was cancelled (worth a retry)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s of sending; the call was cancelled")
