"""A city's staff: accounts of the city with a role in its administration console.

- models.py       staff members, their recovery codes, invitations; the roles
- permissions.py  who may do what (`can`), and the guard of every console view
- invitations.py  inviting staff by a signed, single-use link, and accepting
- seats.py        the staff seats of the city's plan

The console's pages are the admin audience's (app/admin/); modules guard their staff pages
with `app.staff.permissions.staff_required`.
"""
from flask_babel import gettext as _

from app.second_factor import SecondFactor
from app.staff.models import RecoveryCode

# The second factor of city staff: app.second_factor bound to their recovery codes.
staff_second_factor = SecondFactor(RecoveryCode, RecoveryCode.staff_id)


def role_label(role: str) -> str:
    return {"admin": _("City administrator"), "module_manager": _("Module manager"),
            "clerk": _("Clerk"), "viewer": _("Viewer")}.get(role, role)
