"""An ingest in a child process that SIGKILLs itself at a chosen point (the kill test).

python -m tests.hardening.ingest_child DATABASE_URL DATA_DIR POINT

POINT: ``accounts`` (accounts stored and stored events routed, nothing else), ``events``
(after the second committed batch of events), ``tickets`` (events and tickets committed,
notes not), ``settle`` (everything committed, no digest rebuilt, no version bumped).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from clerk.ingest import run as ingest_run
from clerk.ingest import usage
from clerk.store import Store


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    url, data, point = argv
    store = Store(url)
    if point == "accounts":
        ingest_run._Run.load_usage = lambda self: _die()  # type: ignore[method-assign]
    elif point == "events":
        flush = usage.EventSink.flush
        done = [0]

        def flush_then_die(self: Any) -> None:
            flush(self)
            done[0] += 1
            if done[0] == 2:
                _die()

        usage.EventSink.flush = flush_then_die  # type: ignore[method-assign]
    elif point == "tickets":
        ingest_run._Run.load_notes = lambda self: _die()  # type: ignore[method-assign]
    elif point == "settle":
        ingest_run.settle = lambda *args: _die()  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown point {point}")
    ingest_run.run_ingest(data, store)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
