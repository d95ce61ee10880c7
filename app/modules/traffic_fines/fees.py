"""What a fine costs on a given day: the fine, plus the city's late fee once the due date has
passed. All in integer fen; the late fee is rounded down to the fen (in the citizen's favour)."""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from app.city_time import city_today
from app.modules import settings_of


@dataclass(frozen=True)
class AmountDue:
    fine_fen: int
    days_late: int
    late_fee_fen: int

    @property
    def total_fen(self) -> int:
        return self.fine_fen + self.late_fee_fen


def _percent_of(amount_fen: int, percent: Decimal) -> int:
    return int((Decimal(amount_fen) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))


def amount_due(amount_fen: int, due_date: date, today: date, percent_per_day: Decimal,
               cap_percent: int) -> AmountDue:
    """Paying on the due date costs the fine alone; each day after it adds `percent_per_day`
    of the fine, up to `cap_percent` of the fine in all. The fee is computed for all the days
    at once and then rounded down, so it is never more than the exact percentage."""
    days_late = max((today - due_date).days, 0)
    fee = min(_percent_of(amount_fen, percent_per_day * days_late),
              _percent_of(amount_fen, Decimal(cap_percent)))
    return AmountDue(fine_fen=amount_fen, days_late=days_late, late_fee_fen=fee)


def due_today(fine) -> AmountDue:
    """What the fine costs today in the bound city, by its settings."""
    settings = settings_of("traffic_fines")
    return amount_due(fine.amount_fen, fine.due_date, city_today(),
                      Decimal(settings["late_fee_percent_per_day"]),
                      settings["late_fee_cap_percent"])
