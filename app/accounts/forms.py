"""Form parts every audience's sign-in and password pages share."""
from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.accounts.passwords import too_guessable

PASSWORD_LENGTH = Length(min=10, max=128, message=_l("Use 10 to 128 characters."))
# Fields whose words a password should not lean on, where a form has them.
_RELATED_FIELDS = ("email", "mobile", "display_name", "identifier")


def hard_to_guess(form, field) -> None:
    """Refuse a common or patterned password (app/accounts/passwords.py)."""
    if not field.data or field.errors:
        return
    related = [getattr(form, name).data for name in _RELATED_FIELDS if hasattr(form, name)]
    related += list(getattr(form, "related_words", ()))
    tenant = g.get("tenant")
    if tenant is not None:
        related += [tenant.slug, tenant.name, tenant.name_zh, *tenant.domains]
    if too_guessable(field.data, related):
        raise ValidationError(_l(
            "This password is too easy to guess: it is a common one, or close to one, or a "
            "simple pattern, or it uses your name or address. Choose a longer phrase of several "
            "unrelated words."))


def new_password_fields(label=None, repeat_label=None):
    """A new password and its repetition, for a form's class body:
    `password, confirm = new_password_fields()`."""
    label, repeat_label = label or _l("Password"), repeat_label or _l("Repeat the password")
    return (
        PasswordField(label, validators=[DataRequired(_l("Choose a password.")),
                                         PASSWORD_LENGTH, hard_to_guess],
                      description=_l("At least 10 characters, not easy to guess: a phrase of "
                                     "several unrelated words works well.")),
        PasswordField(repeat_label, validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same."))]),
    )


class LoginForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=[
        DataRequired(_l("Enter your email address or mobile number."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
