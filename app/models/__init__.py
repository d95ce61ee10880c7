"""City-wide tables that are not a service module's: they live in every city schema (declared
without a schema; see tenants/db.py). Modules keep their tables in app/modules/<key>/models.py."""
from app.accounts.models import User
from app.oidc.models import OidcProvider, UserIdentity
from app.staff.models import RecoveryCode, StaffInvitation, StaffMember

__all__ = ["OidcProvider", "RecoveryCode", "StaffInvitation",
           "StaffMember", "User", "UserIdentity"]
