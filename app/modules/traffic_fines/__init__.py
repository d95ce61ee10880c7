"""Traffic fines: staff load the police's CSV export at /admin/traffic-fines/; anyone finds a
fine by plate number and ticket number at /services/traffic-fines/, sees what is due today
(late fee included) and pays it through app.payments. See docs/modules/fines_and_bills.md."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Module, to_json
from app.modules.traffic_fines import demo
from app.modules.traffic_fines.admin import bp as admin_bp
from app.modules.traffic_fines.api import bp as api_bp
from app.modules.traffic_fines.models import TrafficFine
from app.modules.traffic_fines.settings import TrafficFineSettings
from app.modules.traffic_fines.staff_api import bp as staff_api_bp
from app.modules.traffic_fines.views import PAYABLE_KIND, bp, fine_label, return_url
from app.payments.records import paid_figures, paid_records
from tenants.db import db


def _paid_by(user) -> sa.Select:
    return sa.select(TrafficFine).where(TrafficFine.paid_by == user.id).order_by(
        TrafficFine.paid_at.desc(), TrafficFine.id.desc())


@bp.app_template_global()
def fines_paid_by(user) -> list[TrafficFine]:
    """For "My account": the fines this citizen paid while signed in, newest first."""
    return db.session.scalars(_paid_by(user).limit(20)).all()


def fines_paid_data(user) -> list[dict]:
    """For "Download my data": every fine this citizen paid while signed in."""
    return [to_json(fine, "ticket_number", "plate_number", "offence", "place", "amount_fen",
                    "paid_fen", "paid_at") for fine in db.session.scalars(_paid_by(user))]



module = Module(
    key="traffic_fines",
    name=_l("Traffic fines"),
    description=_l("Look up a traffic fine by plate and ticket number, and pay it."),
    icon="car",
    settings=TrafficFineSettings,
    citizen=bp,
    admin=admin_bp,
    api_v1=api_bp,
    staff_api_v1=staff_api_bp,
    figures=paid_figures(TrafficFine, ("fines_paid", _l("Traffic fines paid")),
                         ("fines_collected", _l("Traffic fines collected"))),
    account_section="traffic_fines/_account_section.html",
    personal_data=fines_paid_data,
    payables=(paid_records(TrafficFine, PAYABLE_KIND, return_url, fine_label),),
    demo=demo.add_demo_data,
    order=40,
)
