"""City-wide tables that are not a service module's: they live in every city schema (declared
without a schema; see tenants/db.py). Modules keep their tables in app/modules/<key>/models.py."""
from app.models.oidc import OidcProvider, UserIdentity
from app.models.staff import RecoveryCode, StaffInvitation, StaffMember
from app.models.user import User

__all__ = ["OidcProvider", "RecoveryCode", "StaffInvitation",
           "StaffMember", "User", "UserIdentity"]
