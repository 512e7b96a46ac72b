"""`clerk llm check`: a table of modes, the mode sweeps will use, a sample draft; one clear
line and exit 2 when the endpoint cannot be used. `clerk llm-usage` shows modes and causes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clerk.cli import app
from clerk.drafting.llm_usage import remembered_mode
from clerk.settings import get_settings
from clerk.store import Store
from evals.fake_openai import FakeScript, Reply
from tests.llm.conftest import MODEL
from tests.llm.test_modes import LLAMACPP_500


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, store: Store) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CLERK_LLM", f"openai:{MODEL}")
    monkeypatch.setenv("CLERK_LLM_TIMEOUT", "5")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    return monkeypatch


def check(*args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["llm", "check", *args])
    return result.exit_code, result.output


def test_unreachable_endpoint_is_one_line_and_exit_2(env: pytest.MonkeyPatch) -> None:
    env.setenv("CLERK_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    code, out = check()
    assert code == 2
    assert "Error: cannot reach http://127.0.0.1:9/v1" in out and "Traceback" not in out


def test_a_refused_key_is_said_plainly(
    env: pytest.MonkeyPatch, fake_url: str, script: FakeScript
) -> None:
    env.setenv("CLERK_OPENAI_BASE_URL", fake_url)
    script.queue.append(Reply.unsupported("Incorrect API key provided: sk-wr***", 401))
    code, out = check()
    assert code == 2
    assert "refused the API key" in out and "Incorrect API key provided" in out
    assert "Traceback" not in out


def test_check_picks_the_first_mode_that_works_and_remembers_it(
    env: pytest.MonkeyPatch, fake_url: str, script: FakeScript, store: Store
) -> None:
    env.setenv("CLERK_OPENAI_BASE_URL", fake_url)
    script.queue.append(Reply.unsupported(LLAMACPP_500))
    code, out = check("--no-sample")
    assert code == 0, out
    flat = " ".join(out.split())  # the table wraps long causes
    assert "json_schema no: response_format.type: Input should be" in flat
    assert "'text' or 'json_object'" in flat
    assert "Sweeps will use: json_mode" in out
    assert "System messages honoured" in out
    memory = remembered_mode(store, fake_url.rstrip("/"), MODEL)
    assert memory is not None and memory.mode == "json_mode" and memory.source == "check"

    usage = CliRunner().invoke(app, ["llm-usage", "--all"])
    assert usage.exit_code == 0
    assert f"Working mode for {MODEL}" in usage.output and "json_mode" in usage.output


def test_check_drafts_a_sample_item_of_the_example(
    env: pytest.MonkeyPatch, fake_url: str, store: Store
) -> None:
    env.setenv("CLERK_OPENAI_BASE_URL", fake_url)
    code, out = check()
    assert code == 0, out
    assert "Sweeps will use: json_schema" in out
    assert "Sample: Northwind Logistics" in out and "1,320" in out
