"""Forms of the platform console (Flask-WTF: every form that changes something carries a CSRF
token; search forms are GET forms without one)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from app.accounts.forms import new_password_fields


class StaffLoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter the email address of your vendor staff account.")),
        Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class SetPasswordForm(FlaskForm):
    password, confirm = new_password_fields()


class ConfirmForm(FlaskForm):
    """A confirmation step: the CSRF token is its only field."""

