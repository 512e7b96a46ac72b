"""End-to-end evaluation: ingest a generated folder into a scratch home, sweep, score.

``run_eval`` is what ``clerk eval`` and the CI gate call. The clerk runs exactly as a user
runs it (``run_ingest`` then ``run_sweep``, the §8 documents ``clerk items --json`` prints),
but against a throw-away CLERK_HOME, so an evaluation never touches the user's store. The
naive-RAG baseline (:mod:`evals.baseline`) reads the same store in the same run and is scored
by the same scorer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from clerk.settings import get_settings
from clerk.store import Store
from clerk.store.tables import SourceRow
from evals.scoring import headline, score

# Variables that would point the scratch run at the user's own database, index or model.
_ISOLATE = ("CLERK_DATABASE_URL", "CLERK_CHROMA_URL", "CLERK_LLM", "CLERK_OPENAI_BASE_URL")


@contextmanager
def scratch_home(path: Path | None = None, **env: str) -> Iterator[Path]:
    """Point CLERK_HOME (and ``env``) at a scratch folder for the duration; restore after.

    The user's database, index and model settings are set aside, so the scored sweep is the
    extractive one; ``run_eval(llm=True)`` hands the configured model in explicitly.
    """
    saved = {k: os.environ.get(k) for k in ("CLERK_HOME", *_ISOLATE, *env)}
    with tempfile.TemporaryDirectory(prefix="clerk-eval-") as tmp:
        home = path or Path(tmp)
        try:
            os.environ["CLERK_HOME"] = str(home)
            for name in _ISOLATE:
                os.environ.pop(name, None)
            os.environ.update(env)
            get_settings.cache_clear()
            yield home
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_settings.cache_clear()


@dataclass
class EvalResult:
    """Scores of the clerk and the baselines on one data folder, with ingest and timings."""

    as_of: dt.date
    clerk: dict[str, Any]
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. the LLM drafter
    ingest: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    sweep_failures: dict[str, str] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)  # the model run: calls, modes, refusals

    def headline(self) -> dict[str, float]:
        return headline(self.clerk)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "headline": {
                "clerk": headline(self.clerk),
                **{k: headline(v) for k, v in self.variants.items()},
                **{k: headline(v) for k, v in self.baselines.items()},
            },
            "clerk": self.clerk,
            "variants": self.variants,
            "baselines": self.baselines,
            "ingest": self.ingest,
            "seconds": self.seconds,
            "sweep_failures": self.sweep_failures,
            "llm": self.llm,
        }


def source_texts(store: Store) -> dict[str, str]:
    """Every citable source's full text by id (what quote offsets index into)."""
    with store.session() as session:
        return {sid: text for sid, text in session.execute(select(SourceRow.id, SourceRow.text))}


def documents(store: Store, accounts: list[str], as_of: dt.date) -> dict[str, dict[str, Any]]:
    """The FORMATS §8 document of each account, as ``clerk items ACCOUNT --json`` prints it."""
    from clerk.review.current import account_document

    out: dict[str, dict[str, Any]] = {}
    with store.session() as session:
        for account in accounts:
            try:
                out[account] = account_document(session, account, as_of)
            except LookupError:
                out[account] = {"account": account, "proof_items": [], "gap_flags": []}
    # Round-trip through JSON so the scorer sees exactly what the CLI would print.
    scored: dict[str, dict[str, Any]] = json.loads(json.dumps(out, default=str))
    return scored


def run_eval(
    data_dir: Path | str,
    expected: dict[str, Any],
    *,
    as_of: dt.date | None = None,
    baseline: bool = True,
    llm_fake: bool = False,
    llm: bool = False,
    console: Console | None = None,
) -> EvalResult:
    """Ingest ``data_dir`` into a scratch home, sweep at ``as_of``, score against ``expected``.

    ``as_of`` defaults to expected.json's. ``baseline`` adds the naive-RAG baseline with the
    extractive reader; ``llm_fake`` also runs the clerk's LLM drafter and the LLM baseline
    against the local OpenAI-protocol server. ``llm`` also sweeps with the model the user
    configured (CLERK_LLM, CLERK_OPENAI_BASE_URL, its key and limits), scored as the
    ``clerk-llm`` variant beside the extractive clerk, with the model's calls in ``llm``.
    """
    configured = get_settings() if llm else None
    if configured is not None and not configured.llm.startswith("openai:"):
        raise ValueError(
            f"clerk eval --llm needs CLERK_LLM=openai:<model> (it is {configured.llm!r})"
        )
    from clerk.ingest import run_ingest
    from clerk.retrieval import index_ingested
    from clerk.sweep.run import run_sweep

    day = as_of or dt.date.fromisoformat(expected["as_of"])
    accounts = sorted(expected.get("accounts", {}))
    seconds: dict[str, float] = {}
    with scratch_home():
        store = Store()
        try:
            t0 = time.perf_counter()
            # No console for ingest: its progress bars add nothing to a scored run.
            report = run_ingest(data_dir, store)
            index_ingested(store, report)
            seconds["ingest"] = time.perf_counter() - t0
            counts = report.counts["events"]
            got = {
                "new_events": counts.new,
                "duplicates": counts.duplicates,
                "rejected_rows": counts.rejected,
                "unrouted_events": counts.unrouted,
            }
            want = expected.get("ingest") or {}
            ingest = {
                "got": got,
                "expected": want,
                "match": all(got.get(k) == v for k, v in want.items()),
            }
            t0 = time.perf_counter()
            sweep = run_sweep(store, as_of=day, console=console)
            seconds["sweep"] = time.perf_counter() - t0
            texts = source_texts(store)
            outputs = documents(store, accounts, day)
            result = EvalResult(
                day,
                score(expected, outputs, texts),
                ingest=ingest,
                seconds=seconds,
                sweep_failures=dict(sweep.failed),
            )
            if baseline:
                from evals.baseline import run_baseline

                t0 = time.perf_counter()
                naive = run_baseline(store, accounts, day)
                seconds["baseline"] = time.perf_counter() - t0
                result.baselines["naive-rag"] = score(expected, naive, texts)
            if llm_fake:
                _llm_runs(result, store, expected, accounts, day, texts, console)
            if configured is not None:
                _configured_run(result, store, configured, expected, accounts, day, texts, console)
        finally:
            store.close()
    return result


def _llm_runs(
    result: EvalResult,
    store: Store,
    expected: dict[str, Any],
    accounts: list[str],
    day: dt.date,
    texts: dict[str, str],
    console: Console | None,
) -> None:
    """The LLM baseline and, once it exists, the clerk's LLM drafter, against the local
    OpenAI-protocol server in oracle mode (it answers from the evidence in each prompt)."""
    from evals.baseline import run_baseline_llm
    from evals.fake_openai import serve_fake_openai

    with serve_fake_openai() as base_url:
        t0 = time.perf_counter()
        naive = run_baseline_llm(store, accounts, day, base_url)
        result.seconds["baseline_llm"] = time.perf_counter() - t0
        result.baselines["naive-rag-llm"] = score(expected, naive, texts)
        drafter = _llm_drafter(base_url, store)
        if drafter is None:
            return
        from clerk.sweep.run import run_sweep

        t0 = time.perf_counter()
        sweep = run_sweep(store, as_of=day, drafter=drafter, console=console)
        result.seconds["sweep_llm"] = time.perf_counter() - t0
        outputs = documents(store, accounts, day)
        result.variants["clerk-llm"] = score(expected, outputs, texts)
        result.sweep_failures.update({f"llm:{k}": v for k, v in sweep.failed.items()})


def _configured_run(
    result: EvalResult,
    store: Store,
    settings: Any,
    expected: dict[str, Any],
    accounts: list[str],
    day: dt.date,
    texts: dict[str, str],
    console: Console | None,
) -> None:
    """Sweep again with the configured model, score it, and summarise its calls."""
    from clerk.drafting.llm import LLMDrafter
    from clerk.sweep.run import run_sweep

    settings = settings.model_copy(update={"home": get_settings().home, "database_url": None})
    drafter = LLMDrafter(settings, store)
    t0 = time.perf_counter()
    sweep = run_sweep(store, as_of=day, drafter=drafter, console=console, force=True)
    result.seconds["sweep_llm"] = time.perf_counter() - t0
    outputs = documents(store, accounts, day)
    result.variants["clerk-llm"] = score(expected, outputs, texts)
    result.sweep_failures.update({f"llm:{k}": v for k, v in sweep.failed.items()})
    result.llm = llm_summary(store, sweep.sweep_id, sweep.drafter_notes)
    result.llm["mode_now"] = drafter.mode
    result.llm["misses"] = dict(drafter.misses)


# Reasons a model's part was refused, by the phrase of the refusal note.
REFUSAL_REASONS = (
    ("not found verbatim", "quote not verbatim"),
    ("not the customer's own words", "not the customer's words"),
    ("not a sentence", "not a sentence"),
    ("repeats the drafting instructions", "echoes the prompt"),
    ("does not contain its quote", "statement without its quote"),
    ("the claim says", "contradicts the attainment"),
    ("does not state the delivered", "no delivered value"),
    ("does not give the unit", "no unit"),
    ("does not name the outcome", "outcome not named"),
    ("not grounded", "ungrounded number"),
    ("is unknown", "unknown source"),
    ("was not among the evidence offered", "source not offered"),
    ("looks like instructions", "injection source"),
    ("nothing was computed", "claim with nothing computed"),
    ("empty quote", "empty quote"),
)


def llm_summary(store: Store, sweep_id: int | None, notes: dict[str, list[str]]) -> dict[str, Any]:
    """A model sweep's calls, modes, seconds per call, fallbacks and refusals by reason."""
    from sqlalchemy import select

    from clerk.store.tables import LLMCallRow

    with store.session() as session:
        rows = list(session.scalars(select(LLMCallRow).where(LLMCallRow.sweep_id == sweep_id)))
    sent = [r for r in rows if r.status not in ("cached", "skipped")]
    modes: dict[str, int] = {}
    for r in sent:
        modes[r.mode or "-"] = modes.get(r.mode or "-", 0) + 1
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    refusals: dict[str, int] = {}
    fallbacks = 0
    for lines in notes.values():
        for note in lines:
            if note.startswith("drafted by the extractive drafter"):
                fallbacks += 1
            if not note.startswith("refused"):
                continue
            reason = next((r for phrase, r in REFUSAL_REASONS if phrase in note), "other")
            refusals[reason] = refusals.get(reason, 0) + 1
    seconds = [r.latency_ms / 1000 for r in sent]
    return {
        "calls": len(rows),
        "http_requests": sum(r.attempts for r in rows),
        "statuses": statuses,
        "modes": modes,
        "seconds_per_call": sum(seconds) / len(seconds) if seconds else 0.0,
        "tokens_in": sum(r.tokens_in for r in rows),
        "tokens_out": sum(r.tokens_out for r in rows),
        "refusals": dict(sorted(refusals.items(), key=lambda kv: -kv[1])),
        "fallbacks": fallbacks,
    }


def _llm_drafter(base_url: str, store: Store) -> Any:
    """The clerk's LLM drafter pointed at ``base_url``; None while it has not landed."""
    from pydantic import SecretStr

    from clerk.drafting import get_drafter
    from clerk.settings import Settings

    overrides: dict[str, Any] = {
        "llm": "openai:fake-oracle",
        "openai_base_url": base_url,
        "openai_api_key": SecretStr("not-needed"),
    }
    settings = Settings(**overrides)
    try:
        return get_drafter(settings, store)
    except (ValueError, ImportError):
        return None
