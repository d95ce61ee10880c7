"""The city's administration console, on each city's own host under /admin: staff sign in
with their city account and a second factor (TOTP), then work according to their role
(app/staff/permissions.py). Every change made here is written to the city's audit log in the
transaction that makes it (app/audit).

The console is one blueprint, `admin`, and every /admin page is one of its views or of the
blueprints it mounts: each module's staff pages at /admin/<module>/ and the payments pages at
/admin/payments/. So every such page gets, by construction, what the console gives: the
sign-in and second-factor gate (before any view runs), `Cache-Control: no-store`, the
console's template context and layout. Views then check the staff member's role for what
they do (`app.staff.permissions.staff_required`).

Registered by create_app (`app.register_blueprint(admin.bp)`)."""
from app.admin import (  # noqa: F401  (their routes and commands)
    branding,
    cli,
    dashboard,
    impersonation,
    modules,
    oauth_clients,
    privacy,
    providers,
    views,
    webhooks,
)
from app.admin.blueprint import bp

__all__ = ["bp"]
