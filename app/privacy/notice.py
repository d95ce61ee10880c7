"""The notice a city's site shows (its latest version, else the standard one), and publishing
a new version: checked first, then saved with its audit entry, or nothing at all."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from babel.lists import format_list
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.audit import record
from app.branding import current_branding
from app.privacy import PrivacyError
from app.privacy.models import PrivacyNotice
from app.web.bilingual import in_language
from tenants.context import current_tenant
from tenants.db import db

STANDARD_VERSION = 1
BODY_MAX = 20_000  # characters of each language's text


@dataclass(frozen=True)
class Notice:
    version: int
    body_zh: str
    body_en: str
    published_at: datetime | None  # None: the standard notice

    def body_for(self, locale) -> str:
        return in_language(self.body_en, self.body_zh, locale)

    def paragraphs(self, locale) -> list[str]:
        """The text shown as paragraphs: they are separated by blank lines."""
        text = self.body_for(locale).replace("\r\n", "\n")
        return [part.strip() for part in text.split("\n\n") if part.strip()]


def _standard_body(locale: str) -> str:
    """The standard notice in `locale`, filled with the city's name, contact and domain."""
    tenant, branding = current_tenant(), current_branding()
    with force_locale(locale):
        city = tenant.display_name(locale)
        contacts = [value for value in (branding.contact_email, branding.contact_phone,
                                        branding.address_for(locale)) if value]
        contact = format_list(contacts, locale=locale) if contacts else _(
            "the offices of %(city)s", city=city)
        domain = tenant.domains[0] if tenant.domains else ""
        return "\n\n".join((
            _("%(city)s runs this site, %(domain)s, to provide its public services online. "
              "This notice says which personal information it keeps, why, and what you can "
              "do about it.", city=city, domain=domain),
            _("What we keep: the email address or mobile number and the name you give when "
              "you register, your password (only as a one-way hash), and what you enter when "
              "you use a service, such as bookings, applications, payments and cases."),
            _("Why: to provide the services you ask for, to send you the messages they need, "
              "and to keep the records the law requires. Nothing is sold or used for "
              "advertising."),
            _("Who sees it: the staff of %(city)s who handle your requests, and the payment "
              "providers a payment needs. Your information is stored in the People's Republic "
              "of China.", city=city),
            _("Your rights: you can see, download and correct your information in your "
              "account, and ask for it to be deleted or your account closed; records the law "
              "requires are kept for as long as it says."),
            _("Questions and requests: contact %(contact)s.", contact=contact),
        ))


def current_notice() -> Notice:
    latest = db.session.scalar(
        sa.select(PrivacyNotice).order_by(PrivacyNotice.version.desc()).limit(1))
    if latest is None:
        return Notice(STANDARD_VERSION, _standard_body("zh_Hans"), _standard_body("en"), None)
    return Notice(latest.version, latest.body_zh, latest.body_en, latest.published_at)


def earlier_versions() -> list[PrivacyNotice]:
    """Every published version, newest first."""
    return list(db.session.scalars(
        sa.select(PrivacyNotice).order_by(PrivacyNotice.version.desc())))


def _checked(body: str, language: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise PrivacyError(f"the {language} text is empty")
    if len(body) > BODY_MAX:
        raise PrivacyError(f"the {language} text is {len(body)} characters long; the limit "
                           f"is {BODY_MAX}")
    if "\x00" in body:
        raise PrivacyError(f"the {language} text contains a NUL character")
    return body


def publish_notice(body_zh: str, body_en: str, actor: str) -> int | None:
    """Publish the texts as the notice's next version, with its audit entry. Returns the new
    version, or None when the texts are those of the current notice (nothing is saved).
    Raises PrivacyError, saving nothing, when they are refused."""
    body_zh, body_en = _checked(body_zh, "Chinese"), _checked(body_en, "English")
    current = current_notice()
    if (body_zh, body_en) == (current.body_zh, current.body_en):
        return None
    version = current.version + 1
    db.session.add(PrivacyNotice(version=version, body_zh=body_zh, body_en=body_en,
                                 published_by=actor))
    record(actor, "privacy.publish", "privacy_notice", {"version": current.version},
           {"version": version, "body_zh": body_zh, "body_en": body_en})
    try:
        db.session.commit()
    except IntegrityError:  # another administrator published the same version first
        db.session.rollback()
        raise PrivacyError(f"version {version} was published by someone else meanwhile; "
                           "reload the page and try again") from None
    return version
