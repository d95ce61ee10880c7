from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.outbound import url_problem
from app.payments import signing
from app.payments.models import STATUSES, payment_status
from app.web.forms import DateField


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search: GET, changes nothing

    q = StringField(_l("Reference, receipt or trade number, or description"),
                    validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()], format="%Y-%m-%d")
    date_to = DateField(_l("To"), validators=[Optional()], format="%Y-%m-%d")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [SelectChoice("", _l("Any"))] + [
            SelectChoice(status, payment_status(status)) for status in STATUSES]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must not be before the start date."))


class ExportForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("From"), format="%Y-%m-%d",
                          validators=[DataRequired(_l("Enter the first day, such as 2026-01-31."))])
    date_to = DateField(_l("To"), format="%Y-%m-%d",
                        validators=[DataRequired(_l("Enter the last day, such as 2026-01-31."))])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must not be before the start date."))


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount to refund (yuan)"), validators=[
        DataRequired(_l("Enter the amount to refund, such as 12.50."))],
        description=_l("At most what is still refundable."))
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Enter why the money is given back.")), Length(max=200)])


class MerchantForm(FlaskForm):
    provider = SelectField(_l("Payment provider"), choices=[
        SelectChoice("sandbox", _l("Sandbox (test payments, no money moves)")),
        SelectChoice("alipay", _l("Alipay"))])
    expiry_minutes = IntegerField(
        _l("Minutes a citizen has to pay"), validators=[
            DataRequired(_l("Enter a number of minutes.")),
            NumberRange(1, 1440, _l("Enter a number of minutes from 1 to 1440."))])
    alipay_app_id = StringField(_l("Alipay app ID"), validators=[Optional(), Length(max=32)])
    alipay_seller_id = StringField(
        _l("Alipay seller ID (PID)"), validators=[Optional(), Regexp(
            r"^2088\d{12}$", message=_l("Enter the 16-digit partner ID starting with 2088."))],
        description=_l("Notifications that name another seller are refused."))
    alipay_private_key = TextAreaField(
        _l("Merchant private key"), validators=[Optional(), Length(max=10000)],
        description=_l("RSA2, PEM or base64. Leave empty to keep the stored key; it is never "
                       "shown again."))
    alipay_public_key = TextAreaField(
        _l("Alipay public key"), validators=[Optional(), Length(max=10000)],
        description=_l("Leave empty to keep the stored key."))
    alipay_gateway_url = StringField(
        _l("Alipay gateway URL"), validators=[Optional(), Length(max=300)],
        description=_l("Empty: Alipay's production gateway. Use the sandbox gateway to test."))

    def validate_alipay_gateway_url(self, field):
        if problem := url_problem(field.data.strip()):
            raise ValidationError(problem)

    def validate_alipay_private_key(self, field):
        _check_key(field, signing.normalized_private_key,
                   _l("This is not an RSA private key (PEM or base64)."))

    def validate_alipay_public_key(self, field):
        _check_key(field, signing.normalized_public_key,
                   _l("This is not an RSA public key (PEM or base64)."))


def _check_key(field, normalized, message):
    if field.data:
        try:
            normalized(field.data)
        except ValueError:
            raise ValidationError(message) from None
