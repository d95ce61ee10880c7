"""The console's sign-in providers: the city's OpenID Connect providers (app/citizen/oidc.py),
listed, added, changed, disabled and enabled again. City administrators only (the same
permission as the staff pages): a provider decides who can sign in to the city's accounts.

Validation, encryption of the client secret and the audit entry are the ones
`flask tenants oidc` uses (`save_provider`, `set_provider_enabled`). The secret is write-only:
the edit form never shows it, and leaving it empty keeps the stored one."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, URLField

from app import audit
from app.admin.blueprint import bp
from app.oidc.models import DEFAULT_SCOPES, OidcProvider
from app.oidc.providers import ProviderInvalid, save_provider, set_provider_enabled
from app.staff.permissions import MANAGE_STAFF, staff_required
from app.web.forms import bilingual_pair, form_status
from tenants.db import db


class ProviderForm(FlaskForm):
    name, name_zh = bilingual_pair(
        _l("Display name"), 100, required=_l("Enter the name in at least one language."),
        hint=_l("Shown on the citizens' sign-in page: “Sign in with …”, in their language."))
    key = StringField(_l("Key"), description=_l(
        "A short name in the sign-in addresses, such as gov-id: lowercase letters, digits and "
        "hyphens. It can't be changed later. Leave it empty to make one from the name."),
        render_kw={"maxlength": 40})
    issuer = URLField(_l("Issuer URL"), description=_l(
        "The provider's issuer, such as https://id.example.org (its discovery document is at "
        "/.well-known/openid-configuration under it)."), render_kw={"maxlength": 500})
    client_id = StringField(_l("Client id"), render_kw={"maxlength": 255})
    client_secret = PasswordField(_l("Client secret"), description=_l(
        "Stored encrypted and never shown again."), render_kw={"autocomplete": "off"})
    scopes = StringField(_l("Scopes"), default=DEFAULT_SCOPES, description=_l(
        "Separated by spaces; must include openid."), render_kw={"maxlength": 200})


class EditProviderForm(ProviderForm):
    key = None  # the key is in the provider's URLs: it does not change
    client_secret = PasswordField(_l("Client secret"), description=_l(
        "Stored encrypted and never shown. Leave it empty to keep the current secret."),
        render_kw={"autocomplete": "off"})


def _save(form: ProviderForm, provider: OidcProvider | None):
    """The provider saved (committed with its audit entry) and whether it changed, or None with
    the problems put on the form's fields."""
    try:
        saved, changed = save_provider(
            provider, audit.actor_of(current_user), name=form.name.data or "",
            name_zh=form.name_zh.data or "",
            issuer=form.issuer.data or "", client_id=form.client_id.data or "",
            scopes=form.scopes.data or "", client_secret=form.client_secret.data or None,
            key=(form.key.data or "") if provider is None else None)
    except ProviderInvalid as error:
        db.session.rollback()
        for name, message in error.errors.items():
            target = form[name] if name in form else None
            if target is not None:
                target.errors = [*target.errors, message]
            else:
                form.form_errors.append(message)
        return None
    db.session.commit()
    return saved, changed


@bp.get("/providers")
@staff_required(MANAGE_STAFF)
def providers_list():
    providers = db.session.scalars(sa.select(OidcProvider).order_by(OidcProvider.id)).all()
    return render_template("admin/providers/list.html", providers=providers)


@bp.route("/providers/new", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def provider_new():
    form = ProviderForm()
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            provider = saved[0]
            flash(_("%(name)s is added: citizens can now sign in with it. Register the "
                    "redirect address shown below at the provider.",
                    name=provider.display_name_for()), "success")
            return redirect(url_for("admin.provider_edit", provider_id=provider.id))
    return render_template("admin/providers/edit.html", form=form, provider=None), (
        form_status(form))


@bp.route("/providers/<int:provider_id>", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def provider_edit(provider_id):
    provider = db.get_or_404(OidcProvider, provider_id)
    form = EditProviderForm(data={"name": provider.display_name,
                                  "name_zh": provider.display_name_zh, "issuer": provider.issuer,
                                  "client_id": provider.client_id, "scopes": provider.scopes})
    if form.validate_on_submit():
        saved = _save(form, provider)
        if saved is not None:
            if saved[1]:
                flash(_("%(name)s: your changes are saved.", name=provider.display_name_for()),
                      "success")
            else:
                flash(_("%(name)s: nothing was changed.", name=provider.display_name_for()), "info")
            return redirect(url_for("admin.provider_edit", provider_id=provider.id))
        provider = db.get_or_404(OidcProvider, provider_id)  # as stored, after the rollback
    return render_template("admin/providers/edit.html", form=form, provider=provider), (
        form_status(form))


def _set_enabled(provider_id: int, enabled: bool):
    provider = db.get_or_404(OidcProvider, provider_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    if set_provider_enabled(provider, enabled, audit.actor_of(current_user)):
        db.session.commit()
        name = provider.display_name_for()
        flash(_("%(name)s is enabled: citizens can sign in with it.", name=name) if enabled else
              _("%(name)s is disabled: it is no longer offered on the sign-in page.", name=name),
              "success")
    return redirect(url_for("admin.providers_list"))


@bp.post("/providers/<int:provider_id>/disable")
@staff_required(MANAGE_STAFF)
def provider_disable(provider_id):
    return _set_enabled(provider_id, False)


@bp.post("/providers/<int:provider_id>/enable")
@staff_required(MANAGE_STAFF)
def provider_enable(provider_id):
    return _set_enabled(provider_id, True)
