"""Service requests: citizens report problems in their city (a pothole, a broken streetlight,
graffiti, noise …) in the categories the city sets up, follow them by tracking number, and see
every report and its history on the public list; staff work the queue against each category's
time limit. Other apps report and follow through Open311 GeoReport v2 at /open311/v2/.
Citizens at /services/service-requests/, staff at /admin/service-requests/;
docs/modules/service_requests.md."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.modules import Module, to_json
from app.modules.service_requests import demo, setup  # noqa: F401  (setup: its console pages)
from app.modules.service_requests.admin import bp as admin_bp
from app.modules.service_requests.figures import FIGURES
from app.modules.service_requests.models import KEY, ServiceRequest
from app.modules.service_requests.open311 import bp as open311_bp
from app.modules.service_requests.settings import ServiceRequestSettings
from app.modules.service_requests.views import bp
from tenants.db import db


def reports_data(user) -> list[dict]:
    """For "Download my data": every report the citizen made while signed in."""
    return [{**to_json(report, "reference", "tracking_number", "status", "description",
                       "address", "latitude", "longitude", "answers", "contact_name",
                       "contact_email", "contact_phone", "created_at", "closed_at"),
             "category": report.category.code} for report in db.session.scalars(
                 sa.select(ServiceRequest).where(ServiceRequest.user_id == user.id)
                 .order_by(ServiceRequest.id))]


def forget_contact_details(user, actor: str) -> None:
    """The citizen closes their account: their reports stay (the city's records of its
    streets), without the contact details they left with them."""
    db.session.execute(sa.update(ServiceRequest).where(ServiceRequest.user_id == user.id)
                       .values(contact_name="", contact_email="", contact_phone=""))

module = Module(
    key=KEY,
    name=_l("Report a problem"),
    description=_l("Tell the city about a pothole, a broken streetlight or graffiti, and "
                   "follow what it does."),
    introduction=_l("Tell the city about a problem in a public place. You get a tracking number at "
                    "once and can follow what the city does."),
    icon="report",
    settings=ServiceRequestSettings,
    citizen=bp,
    admin=admin_bp,
    api=open311_bp,
    figures=FIGURES,
    account_section="service_requests/_account_section.html",
    personal_data=reports_data,
    on_account_closed=forget_contact_details,
    demo=demo.add_demo_data,
    order=50,
)
