"""SIGKILL a sweep that runs worker processes: no worker is left behind, and the next sweep
reports every digest line exactly once (the parent stores each account in one transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clerk.settings import Settings
from clerk.sweep.csm_digests import write_digests
from clerk.sweep.run import POOL_MIN_ACCOUNTS, run_sweep
from clerk.sweep.schedule import sweep_and_digest
from tests.hardening.test_sweep_digest_kill import digest_lines
from tests.sweep.helpers import AS_OF, ingested_twins, many_accounts

ROOT = Path(__file__).resolve().parents[2]


def _left(marker: str) -> list[int]:
    """Processes whose command line names ``marker`` (the killed sweep's database)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "sweep_child" in cmdline:
            found.append(int(proc.name))
    return found


def test_sigkill_of_a_sweep_with_workers_leaves_none_and_reports_each_line_once(
    example_dir: Path, tmp_path: Path, clerk_home: Path
) -> None:
    n = POOL_MIN_ACCOUNTS
    data = many_accounts(example_dir, tmp_path, n)
    killed, clean = ingested_twins(data, tmp_path)

    child = subprocess.run(
        [sys.executable, "-m", "tests.hardening.sweep_child", killed.url, AS_OF.isoformat(),
         str(n), "account"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CLERK_HOME": str(clerk_home),
             "CLERK_SWEEP_WORKERS": "2"},
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    deadline = time.monotonic() + 10
    while _left(killed.url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _left(killed.url) == []  # the workers noticed their parent was gone and exited

    sweep_and_digest(killed, as_of=AS_OF, settings=Settings(sweep_workers=2))
    run_sweep(clean, as_of=AS_OF, settings=Settings(sweep_workers=1))
    write_digests(clean, tmp_path / "clean-home")
    expected = digest_lines(tmp_path / "clean-home")
    assert sum(1 for _, line in expected if "· calculation ·" in line) >= n
    assert digest_lines(clerk_home) == expected  # nothing lost, nothing twice
    killed.close()
    clean.close()
