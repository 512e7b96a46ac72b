"""The one rule for numbers sent as text (``"1250.00"``), shared by ingest and metric filters."""

from __future__ import annotations

import math
import re

# JSON's number grammar: no leading "+", no leading zeros ("02134" is a code), no bare ".5".
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
# Integers beyond 2**53 are identifiers, not quantities: a float would change their digits.
_SAFE_INT = 2**53


def number_from_text(text: str) -> int | float | None:
    """The number a string spells under the one rule for numeric strings, or None.

    The rule: the whole string is a JSON number (``"12"``, ``"1250.00"``, ``"-3"``, ``"1e3"``);
    an integer becomes an int (within 2**53), anything with a fraction or exponent a finite
    float. Leading zeros (``"02134"``), signs ``+``, spaces, ``"NaN"`` or thousands separators
    keep the value text.
    """
    if not text or text[0] not in "-0123456789" or not _NUMBER.fullmatch(text):
        return None
    if "." in text or "e" in text or "E" in text:
        number = float(text)
        return number if math.isfinite(number) else None
    integer = int(text)
    return integer if -_SAFE_INT <= integer <= _SAFE_INT else None
