"""JSON that every parser reads: no NaN or Infinity, ever (``clerk items --json``, ``gaps``)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN/Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that refuses to write NaN/Infinity, after replacing them by null."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
