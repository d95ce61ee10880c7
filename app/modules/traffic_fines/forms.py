from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.payments.records import PAYMENT_STATES
from app.spreadsheets.imports import normalize_plate
from app.web.forms import DateField


class LookupForm(FlaskForm):
    plate_number = StringField(
        _l("Plate number"), filters=[lambda value: normalize_plate(value or "")],
        validators=[InputRequired(_l("Enter the plate number.")), Length(max=20)])
    ticket_number = StringField(
        _l("Ticket number"), filters=[lambda value: (value or "").strip().upper()],
        validators=[InputRequired(_l("Enter the ticket number.")), Length(max=40)],
        description=_l("As printed on the ticket or in the text message you received."))


def plate_hint(prefix: str) -> str:
    """The plate field's hint, its example in the city's own series (settings.plate_prefix)."""
    if not prefix:
        return _("As on the vehicle: the province's character, then letters and digits.")
    return _("As on the vehicle, such as %(plate)s.", plate=f"{prefix}12345")


class PayForm(FlaskForm):
    # Rendered once per page: a second click or a second tab sends the same key, so the
    # payments package returns the same payment instead of charging twice.
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class FineFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET): it changes nothing

    plate = StringField(_l("Plate number"), validators=[Optional(), Length(max=20)])
    ticket = StringField(_l("Ticket number"), validators=[Optional(), Length(max=40)])
    status = SelectField(_l("Status"), choices=PAYMENT_STATES, validators=[Optional()])
    date_from = DateField(_l("Offence from"), validators=[Optional()])
    date_to = DateField(_l("Offence until"), validators=[Optional()])
