"""Numbers, money, percentages and dates as the product writes them: one module, every caller.

Two roundings are in use on purpose, and each has one function here:

- :func:`number` keeps up to ``digits`` decimals ("4.85", "1,320.5"): what a packet, a page or
  a drafted claim shows, so a reader can check it against the calculation;
- :func:`claim_number` rounds values of 100 or more to whole units ("1,320"): the template
  wording of a calculation claim and of gap messages, where cents of an hour are noise.

:func:`numbers_in <clerk.domain.textnum.numbers_in>` reads both back within their precision.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, localcontext

__all__ = [
    "CURRENCY_SYMBOLS",
    "SYMBOL_CURRENCIES",
    "claim_number",
    "date_text",
    "fixed",
    "money",
    "number",
    "percent",
    "with_unit",
]

# ISO code -> the symbol written before the amount; other currencies are written after it
# ("96,000 CHF"). textnum reads the same symbols back (SYMBOL_CURRENCIES).
CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£"}
SYMBOL_CURRENCIES: dict[str, str] = {symbol: code for code, symbol in CURRENCY_SYMBOLS.items()}
DASH = "—"


def number(value: float | None, digits: int = 2) -> str:
    """1320.0 -> "1,320"; 4.8485 -> "4.85"; -0.001 -> "0"; None -> "—"."""
    if value is None:
        return DASH
    if float(value).is_integer():
        return f"{value:,.0f}"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def claim_number(value: float) -> str:
    """A number as a template claim states it: whole units from 100 up, else two decimals."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def fixed(value: float | int, decimals: int) -> str:
    """Thousands separators and exactly ``decimals`` decimals (0: a rounded whole number)."""
    if not math.isfinite(value):
        return "(not a finite number)"
    if decimals <= 0:
        return f"{round(value):,}"
    # The default context keeps 28 digits: quantizing 1e30 to cents needs more (it raised
    # InvalidOperation, which stopped every usage digest of the run).
    with localcontext() as ctx:
        ctx.prec = 400
        return f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals)):,.{decimals}f}"


def money(value: float, currency: str) -> str:
    """``$96,000`` for the currencies with a symbol, else ``96,000 CHF`` (claim rounding)."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{claim_number(value)}" if symbol else f"{claim_number(value)} {currency}"


def with_unit(value: float | None, unit: str | None) -> str:
    """``$1,234.5``, ``1,320 hours``, ``12`` (no unit) or "—" (no value)."""
    if value is None:
        return DASH
    symbol = CURRENCY_SYMBOLS.get(unit or "")
    if symbol:
        return f"{symbol}{number(value)}"
    return f"{number(value)} {unit}" if unit else number(value)


def percent(ratio: float | None) -> str:
    """An attainment ratio as a whole percentage: 0.954 -> "95%"; None -> "—"."""
    return DASH if ratio is None else f"{ratio * 100:.0f}%"


def date_text(value: dt.date | dt.datetime | None, with_time: bool = False) -> str:
    """``2026-06-12`` (or ``2026-06-12 09:30 UTC`` with the time); None -> "—"."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime) and with_time:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.strftime("%Y-%m-%d")
