"""The forms of the second factor's pages: a code while setting it up, then at each sign-in a
code or a recovery code."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the 6-digit code from your authenticator app.")),
        Length(max=32)],
        description=_l("The 6-digit code your authenticator app shows now."))


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the code from your authenticator app, or a recovery code.")),
        Length(max=32)],
        description=_l("The 6-digit code your authenticator app shows now, or one of your "
                       "recovery codes."))
