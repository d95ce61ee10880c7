"""Money is integer fen. Every amount written in yuan — by staff in a form, in a CSV file, or by
a payment provider — is read by `fen_of`, exactly (Decimal, never float); `yuan` writes fen the
way providers read amounts. (Amounts shown to people: app.i18n.format_fen.)"""
import re
from decimal import Decimal

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
