"""Forms of the citizen site (Flask-WTF: every form carries a CSRF token)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.accounts import find_user, is_mobile, normalize_email, normalize_mobile
from app.accounts.forms import new_password_fields
from app.i18n import LANGUAGES


def _mobile_number(form, field):
    if field.data and not is_mobile(field.data):
        raise ValidationError(_l("Enter an 11-digit mainland China mobile number, "
                                 "such as 13812345678."))


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        Optional(), Length(max=254), Email(message=_l("Enter an email address such as "
                                                      "name@example.com."))])
    mobile = TelField(_l("Mobile number"), validators=[Optional(), _mobile_number])
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=100)])
    password, confirm = new_password_fields()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.email.data and not self.mobile.data:
            self.email.errors.append(_l("Give an email address or a mobile number."))
            return False
        if self.email.data and not self.email.errors and find_user(self.email.data):
            self.email.errors.append(_l("An account with this email address exists already: "
                                        "sign in, or reset its password."))
            valid = False
        if self.mobile.data and not self.mobile.errors and find_user(self.mobile.data):
            self.mobile.errors.append(_l("An account with this mobile number exists already: "
                                         "sign in instead."))
            valid = False
        return valid

    @property
    def normalized(self) -> dict:
        return {"email": normalize_email(self.email.data),
                "mobile": normalize_mobile(self.mobile.data),
                "display_name": (self.display_name.data or "").strip()}


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter the email address of your account.")),
        Email(message=_l("Enter an email address such as name@example.com."))])


class ResetPasswordForm(FlaskForm):
    password, confirm = new_password_fields(_l("New password"), _l("Repeat the new password"))


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password."))])


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=100)])
    locale = SelectField(_l("Language"), choices=[
        SelectChoice(code, name) for code, name in LANGUAGES.items()])
