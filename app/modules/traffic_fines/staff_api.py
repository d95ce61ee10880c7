"""Loading the police's traffic fines through the REST API for staff (docs/api.md): the same
CSV, checks and audit entry as the console's load (`staff:work`)."""
from app.modules.traffic_fines.admin import FINES_IMPORT
from app.oauth.server import api_actor, scope_required
from app.rest import ApiBlueprint
from app.spreadsheets.api import add_api_import_route

bp = ApiBlueprint("api_staff_traffic_fines", __name__, url_prefix="/api/v1/staff/traffic-fines",
                  description="Traffic fines: the staff's CSV loads")

add_api_import_route(bp, FINES_IMPORT, "/imports",
                     scope_required("staff:work", module="traffic_fines"), api_actor)
