"""Forms of the citizen site (Flask-WTF: every form carries a CSRF token)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.accounts import is_mobile, normalize_email, normalize_mobile
from app.accounts.forms import new_password_fields
from app.i18n import LANGUAGES


def _mobile_number(form, field):
    if field.data and not is_mobile(field.data):
        raise ValidationError(_l("Enter an 11-digit mainland China mobile number, "
                                 "such as 13812345678."))


def _email_or_mobile(form, field):
    if field.data and "@" not in field.data and not is_mobile(field.data):
        raise ValidationError(_l("Enter an email address such as name@example.com, or an "
                                 "11-digit mobile number such as 13812345678."))


CONSENT_LABEL = _l("I have read and accept the privacy notice")


class ConsentForm(FlaskForm):
    """The city's privacy notice accepted: at registration, or by an account that has not yet
    (app/citizen/privacy.py). The version shown is recorded with the account (app/privacy)."""
    privacy_consent = BooleanField(CONSENT_LABEL, validators=[DataRequired(_l(
        "Accept the privacy notice to use your account."))])
    privacy_version = HiddenField()  # the version the citizen was shown

    def accepted(self, version: int) -> bool:
        """Whether the notice accepted is `version`, the current one; if it changed since the
        form was shown, the citizen is asked to read the new one."""
        if self.privacy_version.data == str(version):
            return True
        self.privacy_consent.data = False
        self.privacy_consent.errors = [_l("The privacy notice has changed since this page was "
                                          "shown: read the new version and accept it.")]
        return False


class RegisterForm(ConsentForm):
    email = EmailField(_l("Email address"), validators=[
        Optional(), Length(max=254), Email(message=_l("Enter an email address such as "
                                                      "name@example.com."))])
    mobile = TelField(_l("Mobile number"), validators=[Optional(), _mobile_number])
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=100)])
    password, confirm = new_password_fields()
    # Its own message, and after the fields above (the error summary's order).
    privacy_consent = BooleanField(CONSENT_LABEL, validators=[
        DataRequired(_l("Accept the privacy notice to create an account."))])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.email.data and not self.mobile.data:
            self.email.errors.append(_l("Give an email address or a mobile number."))
            return False
        return valid

    @property
    def normalized(self) -> dict:
        return {"email": normalize_email(self.email.data),
                "mobile": normalize_mobile(self.mobile.data),
                "display_name": (self.display_name.data or "").strip()}


class ForgotPasswordForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=[
        DataRequired(_l("Enter the email address or mobile number of your account.")),
        Length(max=254), _email_or_mobile], filters=[lambda value: (value or "").strip()])

    def validate_identifier(self, field):
        if "@" in (field.data or ""):
            Email(message=_l("Enter an email address such as name@example.com."))(self, field)


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the 6-digit code from the text message.")), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class ResetPasswordForm(FlaskForm):
    password, confirm = new_password_fields(_l("New password"), _l("Repeat the new password"))


class ResetByCodeForm(ResetPasswordForm):
    code = CodeForm.code


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password."))])


class CloseAccountForm(FlaskForm):
    # Asked only of an account that has a password (the view checks it).
    password = PasswordField(_l("Your password"), validators=[Optional()])
    understood = BooleanField(_l("I understand that my account is closed for good"),
                              validators=[DataRequired(_l(
                                  "Tick the box to confirm that you want to close your "
                                  "account."))])


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=100)])
    locale = SelectField(_l("Language"), choices=[
        SelectChoice(code, name) for code, name in LANGUAGES.items()])


SEARCH_MAX_LENGTH = 200


class SiteSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search: GET, changes nothing

    q = SearchField(_l("Search this site"), validators=[
        Optional(), Length(max=SEARCH_MAX_LENGTH, message=_l(
            "Search for at most %(max)d characters: a few words are enough."))])
