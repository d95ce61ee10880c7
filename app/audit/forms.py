"""The audit log's filter, in the city's console and (with a city field) the platform's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from app.web.forms import DateField


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search: GET, changes nothing

    actor = StringField(_l("Person"), validators=[Optional(), Length(max=200)],
                        description=_l("Part of an email address or a mobile number."))
    action = StringField(_l("Action or module"), validators=[Optional(), Length(max=64)],
                         description=_l('The start of an action, such as "staff." or '
                                       '"module.", or a module key.'))
    date_from = DateField(_l("From"), validators=[Optional()],
                          format="%Y-%m-%d")
    date_to = DateField(_l("To"), validators=[Optional()], format="%Y-%m-%d")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
