"""Form parts every audience's sign-in and password pages share."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

PASSWORD_LENGTH = Length(min=10, max=128, message=_l("Use 10 to 128 characters."))


def new_password_fields(label=None, repeat_label=None):
    """A new password and its repetition, for a form's class body:
    `password, confirm = new_password_fields()`."""
    label, repeat_label = label or _l("Password"), repeat_label or _l("Repeat the password")
    return (
        PasswordField(label, validators=[DataRequired(_l("Choose a password.")),
                                         PASSWORD_LENGTH],
                      description=_l("At least 10 characters.")),
        PasswordField(repeat_label, validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same."))]),
    )


class LoginForm(FlaskForm):
    identifier = StringField(_l("Email address or mobile number"), validators=[
        DataRequired(_l("Enter your email address or mobile number."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
