"""A sweep run in a child process by the SIGKILL test: slow drafting, one account at a time.

python -m tests.sweep.sweep_child DATABASE_URL AS_OF
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from clerk.drafting.base import DraftRequest, DraftResult
from clerk.drafting.extractive import ExtractiveDrafter
from clerk.settings import Settings
from clerk.store import Store
from clerk.sweep.run import run_sweep


class SlowDrafter(ExtractiveDrafter):
    """The extractive drafter (same name, so the same ids), slowed down to be killable."""

    async def draft(self, request: DraftRequest) -> DraftResult:
        await asyncio.sleep(0.15)
        return await super().draft(request)


def main(argv: list[str]) -> int:
    url, as_of = argv[0], dt.date.fromisoformat(argv[1])
    store = Store(url)
    settings = Settings(llm_max_concurrency=1)
    run_sweep(store, as_of=as_of, drafter=SlowDrafter(), settings=settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
