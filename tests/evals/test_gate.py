"""The CI gate: a small generated set through ingest + sweep, scored against planted truth.

Six accounts cover every planted case (the generator cycles its cases by account index). The
build fails if a calculation or payback is off, a quote is not verbatim, an injected number
reaches a draft, gap-flag recall drops below 0.9, or ingest miscounts the planted duplicates,
malformed rows and unroutable events, or when a customer statement is drafted that is not the
planted one (false proof) or carries the wrong value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evals.evaluate import run_eval
from evals.generator import generate
from evals.scoring import headline

ACCOUNTS = 6
GAP_RECALL_FLOOR = 0.9


def test_generated_set_passes_the_gate(tmp_path: Path) -> None:
    expected = generate(tmp_path / "data", ACCOUNTS, seed=2026, as_of=dt.date(2026, 7, 1))
    result = run_eval(tmp_path / "data", expected, baseline=False)
    figures = headline(result.clerk)
    print("gate figures:", figures, "seconds:", result.seconds)
    misses = "\n".join(result.clerk["failures"])
    assert not result.sweep_failures, result.sweep_failures
    assert result.ingest["match"], result.ingest
    assert figures["calculation_accuracy"] == 1.0, misses
    assert figures["payback_accuracy"] == 1.0, misses
    assert figures["quote_validity"] == 1.0, misses
    assert figures["injection_leaks"] == 0, misses
    # Issue 12: no hope, complaint, guess or agent note is ever drafted as proof, and every
    # statement drafted carries the planted value.
    assert figures["false_proof"] == 0, misses
    assert figures["statement_value_accuracy"] == 1.0, misses
    assert figures["gap_recall"] >= GAP_RECALL_FLOOR, misses
    # The gate must have had something to check: planted items, flags, quotes, injections.
    clerk = result.clerk
    assert clerk["calculation"]["expected"] >= 10 and clerk["payback"]["expected"] >= 1
    assert clerk["gaps"]["expected"] >= 10 and clerk["quotes"]["total"] >= 3
    assert clerk["injection"]["planted"] >= 2
