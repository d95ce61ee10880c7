from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.payments.records import PaidMixin, paid_index
from app.web.bilingual import bilingual
from tenants.db import db


class TrafficFine(PaidMixin, db.Model):
    """A fine of the police, loaded from their CSV export; a citizen finds it by plate number
    and ticket number together and pays it (with the late fee of the day) once. Its offence
    and place are in English and Chinese (`<name>` and `<name>_zh`), one of the two at least."""

    __tablename__ = "traffic_fines"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount"),
        sa.CheckConstraint("offence <> '' OR offence_zh <> ''", name="offence"),
        sa.CheckConstraint("place <> '' OR place_zh <> ''", name="place"),
        sa.Index("ix_traffic_fines_plate", "plate_number"),
        sa.Index("ix_traffic_fines_occurred", "occurred_at"),
        paid_index("traffic_fines"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    plate_number: Mapped[str] = mapped_column(sa.String(10))  # normalised: 浙K12345
    offence: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    place: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    due_date: Mapped[date] = mapped_column(sa.Date)
    loaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    # Added after the payment columns of PaidMixin (their place in the table).
    offence_zh: Mapped[str] = mapped_column(sa.String(500), default="", server_default="",
                                            sort_order=1)
    place_zh: Mapped[str] = mapped_column(sa.String(200), default="", server_default="",
                                          sort_order=1)

    offence_for = bilingual("offence")
    place_for = bilingual("place")
