"""SQL store (the source of truth): tables, migrations and the Store handle."""

from clerk.store.db import Store

__all__ = ["Store"]
