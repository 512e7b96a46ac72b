"""``clerk sweep`` (sweep + CSM digests) in a child process that SIGKILLs itself at a point.

python -m tests.hardening.sweep_child DATABASE_URL AS_OF ACCOUNTS POINT

POINT: ``account`` (two accounts stored, the rest not), ``finish`` (every account stored,
the sweep row still running, no digest), ``claim`` (the digest transaction half done, not
committed), ``files`` (digests committed, no file written), ``append`` (one digest file
written, not yet marked written). With worker processes (16 accounts or more) "stored"
means handed to the transaction of their batch, which the kill leaves uncommitted.
CLERK_HOME comes from the environment.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from typing import Any

from clerk.store import Store
from clerk.sweep import csm_digests
from clerk.sweep import run as sweep_run
from clerk.sweep.schedule import sweep_and_digest


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(calls: int, real: Any) -> Any:
    """``real``, then death on its ``calls``-th call."""
    done = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        done[0] += 1
        if done[0] == calls:
            _die()
        return result

    return wrapped


def main(argv: list[str]) -> int:
    url, as_of, accounts, point = argv[0], dt.date.fromisoformat(argv[1]), int(argv[2]), argv[3]
    if point == "account":
        sweep_run.store_account = _after(2, sweep_run.store_account)  # type: ignore[assignment]
    elif point == "finish":
        sweep_run.store_account = _after(accounts, sweep_run.store_account)  # type: ignore[assignment]
    elif point == "claim":
        csm_digests._section = _after(2, csm_digests._section)  # type: ignore[assignment]
    elif point == "files":
        csm_digests._write_files = lambda store, home: _die()  # type: ignore[assignment]
    elif point == "append":
        csm_digests._append = _after(1, csm_digests._append)  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown point {point}")
    store = Store(url)
    sweep_and_digest(store, as_of=as_of)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
