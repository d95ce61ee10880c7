"""The console's API apps: the city's OAuth 2 clients (docs/api.md), listed, registered (a
confidential or service client's secret shown once, on the answer to the registration) and
revoked, which refuses their tokens from then on. City administrators only: an app may act
for citizens or staff. The rules and the audit entries are app/oauth's."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from app import audit
from app.admin.blueprint import bp
from app.oauth.clients import ClientRefused, register_client, revoke_client
from app.oauth.models import CONFIDENTIAL, PUBLIC, SERVICE, OAuthClient
from app.oauth.scopes import ALL_SCOPES
from app.staff.permissions import MANAGE_STAFF, staff_required
from app.web.forms import form_status
from tenants.db import db

KIND_LABELS = {
    PUBLIC: _l("Mobile app or mini-program (public: no secret, signs citizens in with PKCE)"),
    CONFIDENTIAL: _l("Web server (confidential: has a secret, signs citizens in)"),
    SERVICE: _l("Back office (service: has a secret, acts as staff with client credentials)"),
}


class ClientForm(FlaskForm):
    name = StringField(_l("Name"), description=_l(
        "What citizens and staff see on the consent page, such as “Lishui city app”."),
        render_kw={"maxlength": 100})
    kind = SelectField(_l("Kind of app"), choices=[])
    redirect_uris = TextAreaField(_l("Redirect addresses"), description=_l(
        "One a line, matched exactly: https, http on this computer (127.0.0.1), or the app's "
        "own scheme such as com.example.app:/callback. A back office has none."))
    scopes = SelectMultipleField(
        _l("Scopes"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(), validate_choice=False,
        description=_l("What the app may ask for. A back office gets staff scopes only."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(kind, str(text)) for kind, text in KIND_LABELS.items()]
        self.scopes.choices = [(scope, f"{scope}: {text}") for scope, text in ALL_SCOPES.items()]


@bp.get("/api-clients")
@staff_required(MANAGE_STAFF)
def api_clients_list():
    clients = db.session.scalars(sa.select(OAuthClient).order_by(
        OAuthClient.revoked_at.is_not(None), OAuthClient.id)).all()
    return render_template("admin/api_clients/list.html", clients=clients, kinds=KIND_LABELS)


@bp.route("/api-clients/new", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def api_client_new():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client, secret = register_client(
                form.name.data or "", form.kind.data or "",
                (form.redirect_uris.data or "").splitlines(), form.scopes.data or [],
                audit.actor_of(current_user))
        except ClientRefused as refused:
            db.session.rollback()
            for name, message in refused.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            db.session.commit()
            # Shown on this answer only (only its digest is kept, never in the session cookie).
            return render_template("admin/api_clients/created.html", client=client,
                                   secret=secret, kinds=KIND_LABELS), 201
    return render_template("admin/api_clients/new.html", form=form), form_status(form)


@bp.post("/api-clients/<int:client_pk>/revoke")
@staff_required(MANAGE_STAFF)
def api_client_revoke(client_pk):
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    client = db.get_or_404(OAuthClient, client_pk)
    revoke_client(client, audit.actor_of(current_user))
    db.session.commit()
    flash(_("%(name)s is revoked: its tokens no longer work.", name=client.name), "success")
    return redirect(url_for("admin.api_clients_list"))
