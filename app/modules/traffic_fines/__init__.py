"""Traffic fines: staff load the police's CSV export at /admin/traffic-fines/; anyone finds a
fine by plate number and ticket number at /services/traffic-fines/, sees what is due today
(late fee included) and pays it through app.payments. See docs/modules/fines_and_bills.md."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Figure, Module
from app.modules.billing import mark_paid, paid_per_day
from app.modules.traffic_fines.admin import bp as admin_bp
from app.modules.traffic_fines.models import TrafficFine
from app.modules.traffic_fines.settings import TrafficFineSettings
from app.modules.traffic_fines.views import PAYABLE_KIND, bp, return_url
from app.payments import Payable, register_payable
from tenants.db import db


def mark_fines_paid(payment, item_ids: list[int]) -> None:
    mark_paid(TrafficFine, payment, item_ids)


@bp.app_template_global()
def fines_paid_by(user) -> list[TrafficFine]:
    """For "My account": the fines this citizen paid while signed in, newest first."""
    return db.session.scalars(sa.select(TrafficFine).where(TrafficFine.paid_by == user.id)
                              .order_by(TrafficFine.paid_at.desc()).limit(20)).all()


register_payable(Payable(kind=PAYABLE_KIND, module="traffic_fines", on_paid=mark_fines_paid,
                         return_url=return_url))

module = Module(
    key="traffic_fines",
    name=_l("Traffic fines"),
    description=_l("Look up a traffic fine by plate and ticket number, and pay it."),
    icon="car",
    settings=TrafficFineSettings,
    citizen=bp,
    admin=admin_bp,
    figures=(
        Figure("fines_paid", _l("Traffic fines paid"), per_day=lambda first_day, timezone:
               paid_per_day(TrafficFine, sa.func.count(), first_day, timezone)),
        Figure("fines_collected", _l("Traffic fines collected"), unit="fen",
               per_day=lambda first_day, timezone: paid_per_day(
                   TrafficFine, sa.func.sum(TrafficFine.paid_fen), first_day, timezone)),
    ),
    account_sections=("traffic_fines/_account_section.html",),
    order=40,
)
