"""Re-record the real model exchanges that tests/llm/test_recorded.py replays offline.

    python -m evals.record_llm --base-url http://127.0.0.1:8089/v1 --model gemma-3-270m

Against a live llama-cpp-python server (see docs/llm.md; ``python -m evals.real_llm`` starts
one) this runs each scenario below with the real clerk code and records every HTTP
request/response pair with vcrpy into ``tests/llm/cassettes/llamacpp_<scenario>.yaml``
(the Authorization header filtered out). CI replays them with no server.

Scenarios (each one step-down path):

- ``probe``: ``clerk llm check``'s probes (json_schema refused with HTTP 500, the other
  modes, the system-message probe);
- ``step_down``: a draft in the default mode: json_schema refused, json_mode answers;
- ``truncated_tool_call``: function calling with a small max_tokens, so the arguments are
  cut off; one lean repair; then the extractive drafter;
- ``prompt_garbage``: plain JSON asked for in the prompt of a base model, which answers
  with prose; one repair; then the extractive drafter.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import vcr

CASSETTES = Path(__file__).resolve().parent.parent / "tests" / "llm" / "cassettes"
# Small prompts keep a re-recording to minutes on a CPU: one evidence passage or two.
EVIDENCE_CHARS = 400


def recorder(path: Path, mode: str = "all") -> vcr.VCR:
    return vcr.VCR(
        record_mode=mode,
        match_on=["method", "path"],
        filter_headers=["authorization"],
        decode_compressed_response=True,
        allow_playback_repeats=False,
    )


def settings_for(base_url: str, model: str, **overrides: Any) -> Any:
    from clerk.settings import Settings

    values: dict[str, Any] = {
        "llm": f"openai:{model}",
        "openai_base_url": base_url,
        "llm_max_concurrency": 1,
        "llm_max_evidence_chars": EVIDENCE_CHARS,
        "llm_max_retries": 0,
        **overrides,
    }
    return Settings(**values)


def demo_request(outcome_id: str = "hours_saved") -> Any:
    """The demo account's DraftRequest for one outcome, as a sweep builds it."""
    from clerk.demo import DEMO_ACCOUNT, demo_as_of, prepare_demo
    from clerk.store import Store
    from clerk.sweep.account import prepare, request_for

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'demo.db'}")
        try:
            prepare_demo(store, sync_index=False)
            with store.session() as session:
                prep = prepare(session, DEMO_ACCOUNT, demo_as_of())
        finally:
            store.close()
    result = prep.results[outcome_id]
    return request_for(prep, result, demo_as_of(), prep.evidence)


async def draft(settings: Any, request: Any, method: str | None = None) -> Any:
    from clerk.drafting.llm import LLMDrafter

    drafter = LLMDrafter(settings, None, method=method, backoff=0.001)  # type: ignore[arg-type]
    try:
        return await drafter.draft(request)
    finally:
        await drafter.aclose()


def record(base_url: str, model: str, only: set[str] | None = None) -> list[Path]:
    from clerk.drafting.llm_check import probe_endpoint

    CASSETTES.mkdir(parents=True, exist_ok=True)
    request = demo_request()
    scenarios: dict[str, Any] = {
        "probe": lambda: probe_endpoint(settings_for(base_url, model)),
        "step_down": lambda: draft(settings_for(base_url, model, llm_max_tokens=200), request),
        "truncated_tool_call": lambda: draft(
            settings_for(base_url, model, llm_max_tokens=24), request, "function_calling"
        ),
        "prompt_garbage": lambda: draft(
            settings_for(base_url, model, llm_max_tokens=48), request, "prompt"
        ),
    }
    written: list[Path] = []
    for name, run in scenarios.items():
        if only and name not in only:
            continue
        path = CASSETTES / f"llamacpp_{name}.yaml"
        path.unlink(missing_ok=True)
        with recorder(path).use_cassette(str(path)):
            result = asyncio.run(run())
        print(f"{name}: {path.name} written; result: {str(result)[:300]}", flush=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8089/v1")
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--only", nargs="*", help="scenarios to re-record (default: all)")
    args = parser.parse_args(argv)
    record(args.base_url, args.model, set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
