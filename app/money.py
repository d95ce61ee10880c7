"""Money is integer fen, exactly. Every amount written in yuan — by staff in a form, in a CSV
file, or by a payment provider — is read by `fen_of` (Decimal, never float); `yuan` writes fen
the way providers read amounts; `format_fen` shows fen to people, in the page's language."""
import re
from decimal import Decimal

from babel.numbers import format_currency
from flask_babel import get_locale

_YUAN = re.compile(r"-?\d+(\.\d{1,2})?")


def fen_of(text: str | None) -> int | None:
    """Fen of an amount in yuan with at most 2 decimals ("200", "200.5", "12.34", "¥1,200.00",
    "1200元"), or None when `text` is not one."""
    cleaned = (text or "").strip().replace(",", "").lstrip("¥￥").removesuffix("元").strip()
    if not _YUAN.fullmatch(cleaned):
        return None
    return int(Decimal(cleaned) * 100)


def yuan(fen: int) -> str:
    """An amount as payment providers write it: 1234 -> "12.34"."""
    return f"{fen // 100}.{fen % 100:02d}"


def format_fen(fen: int | None, locale=None) -> str:
    """An amount of integer fen as yuan for the page's language: 123450 -> '¥1,234.50'.
    Babel writes CN¥ in English; the sites are Chinese cities', so ¥ is unambiguous."""
    if fen is None:
        return ""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"money is kept as integer fen, not {type(fen).__name__}")
    text = format_currency(Decimal(fen).scaleb(-2), "CNY", locale=locale or get_locale())
    return text.replace("CN¥", "¥")
