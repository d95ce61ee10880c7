"""What an access token may do: one scope per resource and access. Citizen scopes act on the
signed-in citizen's own data; staff scopes act with the staff member's permissions in the
console (app/staff/permissions.py), checked again at every call."""
from flask_babel import lazy_gettext as _l

from app.staff.permissions import VIEW, WORK_MODULE

CITIZEN_SCOPES = {
    "profile:read": _l("See your name, email address and mobile number"),
    "bookings:read": _l("See your hospital appointments"),
    "bookings:write": _l("Book and cancel hospital appointments for you"),
    "passports:read": _l("See your passport applications"),
    "bills:read": _l("See your utility accounts and their bills"),
    "payments:read": _l("See your payments and receipts"),
    "payments:write": _l("Start payments of your fines and bills"),
    "notifications:read": _l("See the messages the city sent you"),
}
# Staff scope -> the console action it needs (per module, where the endpoint names one).
STAFF_SCOPES = {"staff:read": VIEW, "staff:work": WORK_MODULE}
STAFF_SCOPE_LABELS = {
    "staff:read": _l("Read the city's console as you (your role decides what)"),
    "staff:work": _l("Work the console's queues as you (your role decides which)"),
}
ALL_SCOPES = {**CITIZEN_SCOPES, **STAFF_SCOPE_LABELS}


def is_staff_scope(scope: str) -> bool:
    return scope in STAFF_SCOPES


def label(scope: str) -> str:
    return str(ALL_SCOPES.get(scope, scope))
