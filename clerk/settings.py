"""One typed Settings object, read from ``CLERK_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLERK_", env_file=".env", extra="ignore")

    home: Path = Field(
        Path(".clerk"),
        description="Folder for all local state: SQLite file, Chroma index, exports, "
        "reject reports.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store; default: SQLite file under CLERK_HOME. "
        "Use postgresql+psycopg://... for a team database.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (http://host:port); default: persistent client "
        "under CLERK_HOME.",
    )
    chroma_collection: str = Field("evidence", description="Chroma collection name.")
    embedding_batch_size: int = Field(64, description="Sentences per embedding batch.")
    ingest_batch_size: int = Field(
        20000, description="Usage events per insert batch (and per commit)."
    )
    ingest_workers: int = Field(
        default_factory=lambda: min(2, os.cpu_count() or 1),
        description="Processes that parse usage files at once when the usage input is large "
        "(SQLite stores; 1 reads them in the ingest's own process). Default: 2, or 1 on a "
        "one-core machine.",
    )
    ingest_parallel_bytes: int = Field(
        8 << 20,
        description="Usage input (bytes to read) from which usage files are parsed in "
        "ingest_workers processes; below it they are read in the ingest's own process.",
    )
    ingest_piece_bytes: int = Field(
        4 << 20,
        description="Bytes per piece when a large JSON-lines usage file is split between the "
        "worker processes (at line boundaries; CSV and compressed files are never split).",
    )
    mixpanel_group_keys: list[str] = Field(
        ["company_id", "account_id", "organization_id", "$group_id"],
        description="Mixpanel event properties that name the account (tried in order, before "
        "distinct_id), matched against usage_subjects. JSON list in the environment.",
    )
    stale_days: int = Field(
        90, description="A customer statement older than this at as-of is stale evidence."
    )
    usage_drop_pct: float = Field(
        30.0, description="A metric input falling by this percent vs the period before is a drop."
    )
    severe_attainment: float = Field(
        0.8,
        description="An outcome short of target below this share of it (0.8 = 80 %) is a "
        "high-severity under_delivery gap; between it and the target, medium.",
    )
    few_events: int = Field(
        10,
        description="A metric input resting on fewer usage events makes its calculation "
        "low-confidence.",
    )
    gap_due_days_high: int = Field(7, description="Days a high-severity gap is due in.")
    gap_due_days_medium: int = Field(14, description="Days a medium-severity gap is due in.")
    gap_due_days_low: int = Field(30, description="Days a low-severity gap is due in.")
    stale_pending_days: int = Field(
        7, description="A draft pending review for longer than this is marked stale in the UI."
    )
    session_max_age: int = Field(
        12 * 3600, description="Seconds a review-UI sign-in (session cookie) stays valid."
    )
    statement_tolerance_pct: float = Field(
        25.0,
        description="A customer statement further than this percent from the calculated value "
        "of the same outcome and period is never drafted as confirmation.",
    )
    attainment_bound_pct: float = Field(
        300.0,
        description="Attainment above this percent is flagged for the reviewer (low "
        "confidence, with the reason).",
    )
    sweep_lock_wait: float = Field(
        600.0,
        description="Seconds a sweep waits for another sweep of the same store to finish "
        "before it stops with a clear message.",
    )
    sweep_workers: int = Field(
        0,
        ge=0,
        description="Worker processes that load, compute, draft and verify accounts while the "
        "sweep stores them (offline drafter, sweeps of at least 16 accounts). 0: one per core; "
        "1: no worker processes.",
    )
    max_body_bytes: int = Field(
        5 * 1024 * 1024,
        description="Largest request body the review UI reads; larger ones get 413 unread.",
    )
    login_attempts: int = Field(
        10, description="Failed sign-ins per account, and per client address, per window."
    )
    login_window_seconds: int = Field(
        900, description="The window of CLERK_LOGIN_ATTEMPTS, in seconds."
    )
    payback_margin_pct: float = Field(
        25.0,
        description="Payback later than its forecast by more than this percent raises a "
        "payback_behind_forecast gap.",
    )
    llm: str = Field(
        "extractive",
        description="Drafter: 'extractive' (no model) or 'openai:<model>' for OpenAI or any "
        "OpenAI-compatible server.",
    )
    openai_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp)."
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("CLERK_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key for the OpenAI-compatible endpoint (also read from OPENAI_API_KEY).",
    )
    llm_method: Literal["auto", "json_schema", "json_mode", "function_calling", "prompt"] = Field(
        "auto",
        description="How the model returns structured output. 'auto': the mode `clerk llm "
        "check` or an earlier sweep found working for this endpoint and model, else "
        "json_schema, stepping down on a capability error to json_mode (json_object with the "
        "schema), function_calling (a named tool), then prompt (JSON asked for in the prompt). "
        "A named mode starts there and steps down the same way.",
    )
    llm_timeout: float | None = Field(
        None,
        description="Seconds one model call may take once sent (time queued in the clerk is not "
        "counted); the call is then cancelled. Default: 60 for OpenAI, 180 for a local server.",
    )
    llm_max_concurrency: int | None = Field(
        None,
        description="Model calls in flight at once. Default: the server's slots when it says "
        "(llama.cpp's /props), 1 for another local server, 8 for a remote one.",
    )
    llm_max_tokens: int | None = Field(
        None,
        description="max_tokens of a call. Default: sized to the answer schema (a full answer "
        "fits; a model that runs on is cut off).",
    )
    llm_max_evidence_chars: int | None = Field(
        None,
        description="Evidence characters one prompt may carry (the best-ranked passages first). "
        "Default: 24,000 for a remote API, 5,000 for a local server (a 4,096-token context "
        "holds the prompt, the schema and the answer).",
    )
    llm_temperature: float = Field(0.0, description="Sampling temperature of model calls.")
    llm_stream: bool = Field(
        True,
        description="Stream answers, so a cancelled call stops the server generating "
        "(llama-cpp-python stops only a streamed request).",
    )
    llm_system_role: Literal["auto", "keep", "merge"] = Field(
        "auto",
        description="'merge' folds the system prompt into the user message, for servers that "
        "drop system messages; 'auto' merges when `clerk llm check` found them ignored.",
    )
    llm_max_retries: int = Field(4, description="Retries of one model call on 429/5xx/timeouts.")
    llm_token_budget: int = Field(
        2_000_000, description="Tokens (in + out) one sweep may spend before it stops calling."
    )
    llm_breaker_threshold: int = Field(
        5, description="Consecutive failed calls after which a sweep stops calling the model."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key (at least 32 bytes) that signs the sign-in form's cookie; default: a "
        "random key generated on first start and kept in CLERK_HOME/secret_key (mode 0600).",
    )
    host: str = Field("127.0.0.1", description="Address `clerk serve` binds to.")
    port: int = Field(8000, description="Port `clerk serve` listens on.")
    public_url: str | None = Field(
        None,
        description="Base URL customers reach the review UI at, for share links; default "
        "http://CLERK_HOST:CLERK_PORT.",
    )
    share_expires_days: int = Field(30, description="Days a new share link stays valid.")
    share_answer_days: int = Field(
        14,
        description="Days after sharing a packet with no answer from the customer before an "
        "unconfirmed_by_customer gap is raised (and the team view's filter default).",
    )
    share_requests_per_minute: int = Field(
        60, description="Requests one share link, or one client address, may make per minute."
    )

    @property
    def base_url(self) -> str:
        """Where share links point: CLERK_PUBLIC_URL, else the address `clerk serve` binds."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'clerk.db').resolve()}"

    @property
    def llm_endpoint(self) -> str:
        """The endpoint model calls go to, as remembered with its working mode."""
        return (self.openai_base_url or "https://api.openai.com/v1").rstrip("/")

    @property
    def llm_is_local(self) -> bool:
        """True for a server on this machine (or a private address), not a hosted API."""
        from urllib.parse import urlparse

        host = (urlparse(self.llm_endpoint).hostname or "").lower()
        return (
            host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")
            or host.startswith(("10.", "192.168.", "172."))
            or host.endswith(".local")
        )

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    def display(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `clerk config`."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                value = None if not raw else f"{raw[:3]}…{'*' * 6}" if len(raw) > 8 else "******"
            elif name == "database_url" and value and "@" in value:
                value = _mask_url_password(value)
            out[name] = value
        out["database_url (effective)"] = _mask_url_password(self.sqlalchemy_url)
        return out


def _mask_url_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:******@{host}" if ":" in creds else url


@lru_cache
def get_settings() -> Settings:
    return Settings()
