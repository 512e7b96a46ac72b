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
import json
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


# --- protocol variants written from the servers' public docs (no server needed) ---------------

GOOD_ANSWER = {
    "claim": "1,320 hours saved on invoice approvals in Q2 2026, against a target of 1,200.",
    "statements": [],
    "negative_signals": [],
}


def _sse(chunks: list[dict[str, Any]]) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def _interaction(url: str, status: int, body: str, content_type: str) -> dict[str, Any]:
    return {
        "request": {"method": "POST", "uri": url, "body": None, "headers": {}},
        "response": {
            "status": {"code": status, "message": "OK" if status == 200 else "Bad Request"},
            "headers": {"content-type": [content_type]},
            "body": {"string": body},
        },
    }


def _stream_answer(model: str, text: str, usage: dict[str, int] | None) -> str:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1764400000,
            "model": model}  # fmt: skip
    half = len(text) // 2
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text[:half]},
                              "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": text[half:]},
                              "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]  # fmt: skip
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return _sse(chunks)


def write_protocol_variants() -> list[Path]:
    """Cassettes for Ollama's and vLLM's OpenAI-compatible servers, from their docs.

    - Ollama (docs.ollama.com/api/openai-compatibility): /v1/chat/completions takes
      ``response_format`` (json_schema), ``stream`` and ``stream_options.include_usage``;
      the answer streams as chat.completion.chunk events with a final usage chunk. A model
      whose template has no tools is refused with HTTP 400 and OpenAI's error shape,
      ``{"error": {"message": "<model> does not support tools", "type": "api_error"}}``;
      the clerk (started in function_calling, say a remembered mode) steps down to the
      prompt mode, and the small model answers the JSON in a code fence.
    - vLLM (docs.vllm.ai, OpenAI-compatible server): errors are
      ``{"object": "error", "message", "type": "BadRequestError", "code": 400}``; here a
      build whose structured-output backend rejects the json_schema, so the clerk steps
      down to ``json_object``, which vLLM takes.
    """
    import yaml

    CASSETTES.mkdir(parents=True, exist_ok=True)
    text = json.dumps(GOOD_ANSWER)
    usage = {"prompt_tokens": 1200, "completion_tokens": 40, "total_tokens": 1240}
    ollama = "http://localhost:11434/v1/chat/completions"
    vllm = "http://localhost:8000/v1/chat/completions"
    refusal = {
        "object": "error",
        "message": "response_format json_schema is not supported by the guided decoding "
        "backend of this server",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    no_tools = {"error": {"message": "gemma2:2b does not support tools", "type": "api_error",
                          "param": None, "code": None}}  # fmt: skip
    fenced = f"Here is the JSON you asked for:\n```json\n{json.dumps(GOOD_ANSWER, indent=2)}\n```"
    files = {
        "ollama_no_tools.yaml": [
            _interaction(ollama, 400, json.dumps(no_tools), "application/json"),
            _interaction(ollama, 200, _stream_answer("gemma2:2b", fenced, usage),
                         "text/event-stream"),
        ],
        "ollama_json_schema.yaml": [
            _interaction(ollama, 200, _stream_answer("qwen2.5:7b-instruct", text, usage),
                         "text/event-stream"),
        ],
        "vllm_step_down.yaml": [
            _interaction(vllm, 400, json.dumps(refusal), "application/json"),
            _interaction(vllm, 200, _stream_answer("Qwen/Qwen2.5-7B-Instruct", text, usage),
                         "text/event-stream"),
        ],
    }  # fmt: skip
    written = []
    for name, interactions in files.items():
        path = CASSETTES / name
        path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8089/v1")
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--only", nargs="*", help="scenarios to re-record (default: all)")
    parser.add_argument(
        "--variants-only", action="store_true", help="only rewrite the Ollama/vLLM variants"
    )
    args = parser.parse_args(argv)
    for path in write_protocol_variants():
        print(f"{path.name} written (from the server's docs)")
    if not args.variants_only:
        record(args.base_url, args.model, set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
