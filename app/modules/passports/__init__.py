"""Passport renewal: a citizen applies in steps (details, current passport, reason,
collection, photo and documents), pays the city's fee if it charges one, and follows the
application; the city's staff work the queue against an SLA in working days. Citizens at
/services/passports/, staff at /admin/passports/; docs/modules/passports.md."""
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.city_time import city_midnight, city_today, day_in
from app.figures import Figure
from app.modules import Module, to_json
from app.modules.passports import demo
from app.modules.passports.admin import bp as admin_bp
from app.modules.passports.api import bp as api_bp
from app.modules.passports.fees import FEE
from app.modules.passports.models import WITH_THE_CITY, PassportApplication
from app.modules.passports.settings import PassportSettings
from app.modules.passports.views import bp
from tenants.db import db


def applications_of(user) -> list[dict]:
    """For "Download my data": every application of the citizen (not the staff's notes)."""
    return [to_json(application, "reference", "status", "full_name", "date_of_birth",
                    "id_number", "phone", "passport_number", "passport_expiry", "reason",
                    "reason_details", "collection_method", "office", "delivery_address",
                    "fee_fen", "information_request", "rejection_reason", "created_at",
                    "submitted_at")
            for application in db.session.scalars(sa.select(PassportApplication).where(
                PassportApplication.user_id == user.id).order_by(PassportApplication.id))]


def submitted_per_day(first_day: date, timezone: str) -> dict:
    """Applications submitted (the first time) each day (ix_passport_applications_submitted_at)."""
    day = day_in(PassportApplication.submitted_at, timezone)
    return dict(db.session.execute(
        sa.select(day, sa.func.count())
        .where(PassportApplication.submitted_at >= city_midnight(first_day, timezone))
        .group_by(day)).all())


def waiting_now() -> int:
    """Applications with the city: submitted or in review (ix_passport_applications_status)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        PassportApplication.status.in_(WITH_THE_CITY)))


def overdue_now() -> int:
    """Applications with the city past their SLA deadline (ix_passport_applications_sla_due)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        PassportApplication.status.in_(WITH_THE_CITY),
        PassportApplication.sla_due < city_today()))


module = Module(
    key="passports",
    name=_l("Passport renewal"),
    description=_l("Apply to renew your passport and follow your application."),
    introduction=_l("Apply online to renew your passport: fill in your details, upload a photo and "
                    "your documents, and follow your application here."),
    icon="passport",
    settings=PassportSettings,
    citizen=bp,
    admin=admin_bp,
    api_v1=api_bp,
    figures=(
        Figure("passports.submitted", _l("Passport applications submitted"),
               per_day=submitted_per_day),
        Figure("passports.waiting", _l("Passport applications waiting"), current=waiting_now),
        Figure("passports.overdue", _l("Passport applications overdue"), current=overdue_now),
    ),
    account_section="passports/_account_section.html",
    personal_data=applications_of,
    payables=(FEE,),
    demo=demo.add_demo_data,
    order=20,
)
