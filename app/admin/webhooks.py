"""The console's webhooks: the city's endpoints (registered with a secret shown once, changed,
resumed when paused, deleted) and each one's deliveries with the answers they got, any of
which can be sent again. City administrators only: an endpoint receives the city's events.
The rules, the audit entries and the delivery itself are app/webhooks'."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.widgets import CheckboxInput, ListWidget

from app import audit
from app.admin.blueprint import bp
from app.staff.permissions import MANAGE_STAFF, staff_required
from app.web.forms import form_status
from app.webhooks import EVENTS
from app.webhooks.endpoints import (
    EndpointInvalid,
    create_endpoint,
    delete_endpoint,
    resend,
    resume_endpoint,
    rotate_secret,
    update_endpoint,
)
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.db import db

DELIVERIES_SHOWN = 50


class EndpointForm(FlaskForm):
    url = URLField(_l("Endpoint URL"), description=_l(
        "Where the city's systems receive events, such as https://backoffice.example.org/"
        "civiccloud. It must be reachable from the internet over https."),
        render_kw={"maxlength": 500})
    description = StringField(_l("Description"), description=_l(
        "What receives the events, for the city's staff (optional)."),
        render_kw={"maxlength": 200})
    events = SelectMultipleField(
        _l("Events"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.choices = list(EVENTS.items())


def _put_errors(form: EndpointForm, error: EndpointInvalid) -> None:
    db.session.rollback()
    for name, message in error.errors.items():
        form[name].errors = [*form[name].errors, message]


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


@bp.get("/webhooks")
@staff_required(MANAGE_STAFF)
def webhooks_list():
    endpoints = db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    return render_template("admin/webhooks/list.html", endpoints=endpoints, events=EVENTS)


@bp.route("/webhooks/new", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def webhook_new():
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint, secret = create_endpoint(
                audit.actor_of(current_user), url=form.url.data or "",
                description=form.description.data or "", events=form.events.data)
        except EndpointInvalid as error:
            _put_errors(form, error)
        else:
            db.session.commit()
            # Shown on this answer only (never stored in clear, never in the session cookie).
            return render_template("admin/webhooks/created.html", endpoint=endpoint,
                                   secret=secret), 201
    return render_template("admin/webhooks/edit.html", form=form, endpoint=None), (
        form_status(form))


@bp.route("/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def webhook_edit(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    form = EndpointForm(data={"url": endpoint.url, "description": endpoint.description,
                              "events": list(endpoint.events)})
    if form.validate_on_submit():
        try:
            changed = update_endpoint(endpoint, audit.actor_of(current_user),
                                      url=form.url.data or "",
                                      description=form.description.data or "",
                                      events=form.events.data)
        except EndpointInvalid as error:
            _put_errors(form, error)
            endpoint = _endpoint(endpoint_id)  # as stored, after the rollback
        else:
            db.session.commit()
            flash(_("Your changes are saved.") if changed else _("Nothing was changed."),
                  "success" if changed else "info")
            return redirect(url_for("admin.webhook_edit", endpoint_id=endpoint_id))
    deliveries = db.session.scalars(
        sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc()).limit(DELIVERIES_SHOWN)).all()
    return render_template("admin/webhooks/edit.html", form=form, endpoint=endpoint,
                           deliveries=deliveries, events=EVENTS, now=datetime.now(UTC)), (
        form_status(form))


def _posted() -> None:
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)


@bp.post("/webhooks/<int:endpoint_id>/resume")
@staff_required(MANAGE_STAFF)
def webhook_resume(endpoint_id):
    _posted()
    if resume_endpoint(_endpoint(endpoint_id), audit.actor_of(current_user)):
        db.session.commit()
        flash(_("The endpoint is active again: the events that waited are being sent."),
              "success")
    return redirect(url_for("admin.webhook_edit", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/secret")
@staff_required(MANAGE_STAFF)
def webhook_rotate_secret(endpoint_id):
    _posted()
    endpoint = db.first_or_404(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id).with_for_update())
    secret = rotate_secret(endpoint, audit.actor_of(current_user))
    db.session.commit()
    # Shown on this answer only, as at registration.
    return render_template("admin/webhooks/created.html", endpoint=endpoint, secret=secret,
                           rotated=True)


@bp.post("/webhooks/<int:endpoint_id>/delete")
@staff_required(MANAGE_STAFF)
def webhook_delete(endpoint_id):
    _posted()
    delete_endpoint(_endpoint(endpoint_id), audit.actor_of(current_user))
    db.session.commit()
    flash(_("The endpoint and its deliveries are deleted."), "success")
    return redirect(url_for("admin.webhooks_list"))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@staff_required(MANAGE_STAFF)
def webhook_resend(endpoint_id, delivery_id):
    _posted()
    delivery = db.session.scalar(sa.select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
        .with_for_update())
    if delivery is None:
        abort(404)
    resend(delivery, audit.actor_of(current_user))
    db.session.commit()
    flash(_("The event is being sent again."), "success")
    return redirect(url_for("admin.webhook_edit", endpoint_id=endpoint_id))
