"""The console's branding page (/admin/branding): the city's names, colours, images, contact
details, languages and time zone. City administrators only (the permission of the staff and
sign-in provider pages): it changes what every visitor sees.

Saving goes through `app.branding.apply_branding`, the code path of `flask tenants brand`:
everything is checked first and then saved at once or not at all, with one audit entry (before
and after); names, default language and time zone live in `platform.tenants` and are written
on the app's own connection, since the city's role can't. The form checks each field first so
that every problem is named next to its field in the page's language.

The preview pane shows the citizen header, hero, banner and buttons in the chosen colours with
their contrast ratios. Its colours come from a tiny style sheet (/admin/branding/preview-….css:
the pages allow no inline style). Without a script, the "Preview" button shows the page again
with the values entered, saving nothing; app/static/js/admin.js updates the pane as colours
are typed, fetching it from /admin/branding/preview.
"""
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app import audit
from app.admin.blueprint import bp
from app.branding import BrandingError, current_branding
from app.branding.change import (
    CONTACT_EMAIL,
    CONTACT_PHONE,
    HERO_MAX_BYTES,
    ICP_FILING,
    IMAGE_LIMITS,
    LOGO_MAX_BYTES,
    NAME_MAX,
    TEXT_LIMITS,
    BrandingChange,
    apply_branding,
    check_timezone,
)
from app.branding.colours import (
    ACCENT_ON_PRIMARY,
    TEXT_ON_ACCENT,
    TEXT_ON_PRIMARY,
    contrast_checks,
    normalize_color,
)
from app.branding.models import HERO_PATTERNS, OFFERED_LANGUAGES
from app.i18n import LANGUAGES
from app.images import ImageRefused, read_image
from app.staff.permissions import MANAGE_STAFF, staff_required
from app.web.bilingual import in_language
from app.web.forms import INVALID_FORM
from tenants.context import current_tenant

IMAGE_FILE = {"accept": "image/png,image/jpeg,image/svg+xml"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _color_field(label, description):
    return StringField(label, description=description, validators=[
        InputRequired(_l("Enter a colour.")), Length(max=7)],
        render_kw={"maxlength": 7, "spellcheck": "false", "data-preview-input": ""})


def _text_field(name, label, *validators, description=None):
    return StringField(label, description=description,
                       validators=[Optional(), Length(max=TEXT_LIMITS[name]), *validators],
                       render_kw={"maxlength": TEXT_LIMITS[name]})


class BrandingForm(FlaskForm):
    name = StringField(_l("Name in English"), filters=[_strip], validators=[
        DataRequired(_l("Enter the city's name in English.")), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX, "data-preview-input": ""})
    name_zh = StringField(_l("Name in Chinese"), filters=[_strip], validators=[
        DataRequired(_l("Enter the city's name in Chinese.")), Length(max=NAME_MAX)],
        render_kw={"maxlength": NAME_MAX, "data-preview-input": ""})
    tagline = _text_field("tagline", _l("Tagline in English"),
                          description=_l("One line under the city's name on the home page."))
    tagline_zh = _text_field("tagline_zh", _l("Tagline in Chinese"))
    primary_color = _color_field(_l("Primary colour"), _l(
        "Header, buttons and links, as a hex code such as #1f4e8c. White text must read on "
        "it (contrast 4.5:1)."))
    accent_color = _color_field(_l("Accent colour"), _l(
        "Stripes, the focus highlight and the announcement banner, such as #f2b632. Dark "
        "text must read on it (4.5:1) and it must stand out from the primary colour (3:1)."))
    hero_pattern = SelectField(_l("Home page pattern"), choices=[], description=_l(
        "Shown behind the city's name on the home page when there is no hero image."))
    logo = FileField(render_kw=IMAGE_FILE, label=_l("Logo"), description=_l(
        "PNG, JPEG or SVG, at most %(size)d KB. Leave empty to keep the current one.",
        size=LOGO_MAX_BYTES // 1024))
    remove_logo = BooleanField(_l("Remove the logo (show the city's initial)"))
    favicon = FileField(render_kw=IMAGE_FILE, label=_l("Browser tab icon"), description=_l(
        "A square PNG, JPEG or SVG, at most %(size)d KB. Without one, the logo serves.",
        size=LOGO_MAX_BYTES // 1024))
    remove_favicon = BooleanField(_l("Remove the tab icon"))
    hero = FileField(render_kw=IMAGE_FILE, label=_l("Hero image"), description=_l(
        "The home page's wide image: PNG, JPEG or SVG, at most %(size)d KB.",
        size=HERO_MAX_BYTES // 1024))
    remove_hero = BooleanField(_l("Remove the hero image (show the pattern)"))
    contact_address = _text_field("contact_address", _l("Address in English"))
    contact_address_zh = _text_field("contact_address_zh", _l("Address in Chinese"))
    contact_phone = _text_field("contact_phone", _l("Phone"), Regexp(
        CONTACT_PHONE, message=_l("Enter a phone number: digits, spaces, + - and parentheses.")))
    contact_email = _text_field("contact_email", _l("Email address"), Regexp(
        CONTACT_EMAIL, message=_l("Enter an email address such as name@example.com.")))
    opening_hours = _text_field("opening_hours", _l("Opening hours in English"))
    opening_hours_zh = _text_field("opening_hours_zh", _l("Opening hours in Chinese"))
    icp_filing = _text_field("icp_filing", _l("ICP filing number"), Regexp(
        ICP_FILING, message=_l("Enter the number as filed, such as 浙ICP备12345678号-1.")),
        description=_l("Shown in the footer of every page, linking to the MIIT filing "
                       "system. Leave empty if the site has none."))
    languages = SelectMultipleField(
        _l("Languages offered"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(), validate_choice=False,
        description=_l("Visitors can switch between these."))
    default_language = SelectField(_l("Default language"), choices=[], description=_l(
        "What a visitor sees first; one of the languages offered."))
    timezone = StringField(_l("Time zone"), filters=[_strip], validators=[
        DataRequired(_l("Enter a time zone.")), Length(max=64)],
        description=_l("An IANA time zone name such as Asia/Shanghai: dates, times and the "
                       "dashboard's days follow it."), render_kw={"maxlength": 64,
                                                              "spellcheck": "false"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hero_pattern.choices = [(pattern, pattern_label(pattern))
                                     for pattern in HERO_PATTERNS]
        language_choices = [(code, LANGUAGES[code]) for code in OFFERED_LANGUAGES]
        self.languages.choices = language_choices
        self.default_language.choices = language_choices
        self.images = {}  # kind -> app.branding.Image, read by validate()

    def validate_primary_color(self, field):
        field.data = _checked_color(field.data)

    def validate_accent_color(self, field):
        field.data = _checked_color(field.data)

    def validate_timezone(self, field):
        try:
            check_timezone(field.data)
        except BrandingError:
            raise ValidationError(_("There is no time zone %(name)s: enter an IANA name such "
                                    "as Asia/Shanghai.", name=field.data)) from None

    def validate_languages(self, field):
        if not field.data or set(field.data) - set(OFFERED_LANGUAGES):
            raise ValidationError(_("Offer at least one language."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.languages.data and self.default_language.data not in self.languages.data:
            self.default_language.errors.append(_("The default language must be one of the "
                                                  "languages offered."))
            valid = False
        if not (self.primary_color.errors or self.accent_color.errors):
            for check in contrast_checks(self.primary_color.data, self.accent_color.data):
                if not check.passes:
                    field = self.primary_color if check.kind == TEXT_ON_PRIMARY \
                        else self.accent_color
                    field.errors.append(contrast_message(check))
                    valid = False
        for kind in IMAGE_LIMITS:
            valid = self._read_image(kind) and valid
        return valid

    def _read_image(self, kind: str) -> bool:
        upload, remove = self[kind].data, self[f"remove_{kind}"]
        if not upload or not upload.filename:
            return True
        if remove.data:
            remove.errors.append(_("Choose a new file or remove the current one, not both."))
            return False
        try:
            self.images[kind] = read_image(upload.read(), what=kind,
                                           max_bytes=IMAGE_LIMITS[kind])
        except ImageRefused:
            self[kind].errors.append(_(
                "This file can't be used: choose a PNG, JPEG or SVG image of at most "
                "%(size)d KB.", size=IMAGE_LIMITS[kind] // 1024))
            return False
        return True

    def change(self) -> BrandingChange:
        return BrandingChange(
            primary_color=self.primary_color.data, accent_color=self.accent_color.data,
            hero_pattern=self.hero_pattern.data,
            texts={name: self[name].data or "" for name in TEXT_LIMITS},
            languages=[code for code in OFFERED_LANGUAGES if code in self.languages.data],
            default_language=self.default_language.data,
            name=self.name.data, name_zh=self.name_zh.data, timezone=self.timezone.data,
            **{kind: self.images.get(kind) for kind in IMAGE_LIMITS},
            **{f"remove_{kind}": self[f"remove_{kind}"].data for kind in IMAGE_LIMITS})


def _checked_color(value: str) -> str:
    try:
        return normalize_color(value)
    except BrandingError:
        raise ValidationError(_("Enter a colour as a hex code such as #1f4e8c.")) from None


def contrast_message(check) -> str:
    """Why a colour pair fails WCAG 2.2 AA, naming the field to change."""
    ratio, minimum = f"{check.shown_ratio:.2f}", f"{check.minimum:g}"
    if check.kind == TEXT_ON_PRIMARY:
        return _("The primary colour is too light: white text on it has a contrast of "
                 "%(ratio)s:1 and WCAG 2.2 AA needs %(minimum)s:1. Choose a darker colour.",
                 ratio=ratio, minimum=minimum)
    if check.kind == TEXT_ON_ACCENT:
        return _("The accent colour is too dark: dark text on it has a contrast of "
                 "%(ratio)s:1 and WCAG 2.2 AA needs %(minimum)s:1. Choose a lighter colour.",
                 ratio=ratio, minimum=minimum)
    return _("The accent colour does not stand out from the primary colour: %(ratio)s:1, "
             "and WCAG 2.2 AA needs %(minimum)s:1. Choose a lighter accent or a darker primary "
             "colour.", ratio=ratio, minimum=minimum)


def pattern_label(pattern: str) -> str:
    return {"dots": _("Dots"), "grid": _("Grid"), "diagonal": _("Diagonal lines"),
            "waves": _("Waves"), "hills": _("Hills")}.get(pattern, pattern)


def check_label(kind: str) -> str:
    return {TEXT_ON_PRIMARY: _("White text on the primary colour"),
            TEXT_ON_ACCENT: _("Dark text on the accent colour"),
            ACCENT_ON_PRIMARY: _("Accent colour next to the primary colour")}[kind]


def _current_values() -> dict:
    tenant, branding = current_tenant(), current_branding()
    values = {name: getattr(branding, name) for name in
              ("primary_color", "accent_color", "hero_pattern", *TEXT_LIMITS)}
    values.update(name=tenant.name, name_zh=tenant.name_zh, timezone=tenant.timezone,
                  default_language=tenant.locale, languages=list(branding.languages))
    return values


def preview_of(values: dict) -> dict:
    """What the preview pane shows for entered values: colours that are not colours fall back
    to the saved ones (and say so)."""
    branding = current_branding()
    colors, valid = {}, True
    for name in ("primary_color", "accent_color"):
        try:
            colors[name] = normalize_color(values.get(name) or "")
        except BrandingError:
            colors[name], valid = getattr(branding, name), False
    return {"primary": colors["primary_color"], "accent": colors["accent_color"],
            "colors_valid": valid,
            "checks": contrast_checks(colors["primary_color"], colors["accent_color"]),
            "name": in_language(values.get("name"), values.get("name_zh"))
            or current_tenant().display_name(get_locale()),
            "tagline": in_language(values.get("tagline"), values.get("tagline_zh")) or ""}


def _page(form: BrandingForm, values: dict, status: int = 200):
    return render_template("admin/branding/edit.html", form=form, preview=preview_of(values),
                           check_label=check_label), status


@bp.route("/branding", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def branding_edit():
    if request.method == "GET":
        values = _current_values()
        return _page(BrandingForm(data=values), values)
    form = BrandingForm()
    valid = form.validate_on_submit()
    entered = {field.name: field.data for field in form}
    if request.form.get("action") == "preview" or not valid:
        return _page(form, entered, 200 if valid else INVALID_FORM)
    try:
        changed = apply_branding(current_tenant(), form.change(), audit.actor_of(current_user))
    except BrandingError as error:
        form.form_errors.append(str(error))
        return _page(form, entered, INVALID_FORM)
    flash(_("The branding is saved; the city's site shows it now.") if changed else
          _("Nothing was changed."), "success")
    return redirect(url_for("admin.branding_edit"))


@bp.get("/branding/preview")
@staff_required(MANAGE_STAFF)
def branding_preview():
    """The preview pane alone for the values in the query string (for admin.js)."""
    return render_template("admin/branding/_preview.html", preview=preview_of(request.args),
                           check_label=check_label)


@bp.get("/branding/preview-<primary>-<accent>.css")
@staff_required(MANAGE_STAFF)
def branding_preview_css(primary, accent):
    """The preview pane's colours as CSS custom properties (no inline styles on the page)."""
    try:
        primary, accent = normalize_color(primary), normalize_color(accent)
    except BrandingError:
        abort(404)
    return Response(f".brand-preview {{ --brand: {primary}; --accent: {accent}; }}\n",
                    mimetype="text/css")
