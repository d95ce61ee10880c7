"""Service requests: citizens report problems in their city (a pothole, a broken streetlight,
graffiti, noise …) in the categories the city sets up, follow them by tracking number, and see
every report and its history on the public list; staff work the queue against each category's
time limit. Other apps report and follow through Open311 GeoReport v2 at /open311/v2/.
Citizens at /services/service-requests/, staff at /admin/service-requests/;
docs/modules/service_requests.md."""
from flask_babel import lazy_gettext as _l

from app.modules import Module
from app.modules.service_requests import demo, setup  # noqa: F401  (setup: its console pages)
from app.modules.service_requests.admin import bp as admin_bp
from app.modules.service_requests.figures import FIGURES
from app.modules.service_requests.models import KEY
from app.modules.service_requests.open311 import bp as open311_bp
from app.modules.service_requests.settings import ServiceRequestSettings
from app.modules.service_requests.views import bp

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
    demo=demo.add_demo_data,
    order=50,
)
