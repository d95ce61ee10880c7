from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.payments.records import PAYMENT_STATES


class LinkForm(FlaskForm):
    account_number = StringField(
        _l("Account number"), filters=[lambda value: (value or "").strip().upper()],
        validators=[InputRequired(_l("Enter the account number.")), Length(max=40)],
        description=_l("As printed on your bill."))
    surname = StringField(
        _l("Account holder's surname"),
        validators=[InputRequired(_l("Enter the account holder's surname.")), Length(max=40)],
        description=_l("The family name of the person the account is in, such as 王."))


class PayBillsForm(FlaskForm):
    bills = SelectMultipleField(_l("Bills to pay"), coerce=int, validators=[
        InputRequired(_l("Choose at least one bill to pay."))])
    # One key per page: a second click sends the same key and gets the same payment.
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class BillFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET): it changes nothing

    account = StringField(_l("Account number"), validators=[Optional(), Length(max=40)])
    period = StringField(_l("Period"), validators=[Optional(), Length(max=7)],
                         description=_l("Year and month, such as 2026-03."))
    status = SelectField(_l("Status"), choices=PAYMENT_STATES, validators=[Optional()])


class AccountFilterForm(FlaskForm):
    class Meta:
        csrf = False

    account = StringField(_l("Account number"), validators=[Optional(), Length(max=40)])
    kind = StringField(_l("Kind"), validators=[Optional(), Length(max=40)])
