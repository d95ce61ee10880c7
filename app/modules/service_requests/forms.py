"""The forms of service requests: the citizen's report (its extra questions are read by
answers.py, the same way as an Open311 POST), the staff's moves on a request, and the set-up
of categories, their questions, departments and API clients."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.modules.service_requests.answers import clean_text
from app.modules.service_requests.models import DATATYPES, LISTS
from app.modules.service_requests.workflow import NOTE_LENGTH
from app.web.forms import DecimalField, bilingual_pair

CODE_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
CODE_MESSAGE = _l("Use 1 to 40 letters, digits, - or _.")
MAX_OPTIONS = 50


def _text(value):
    return clean_text(value) if isinstance(value, str) else value


class ReportForm(FlaskForm):
    description = TextAreaField(
        _l("What is the problem?"),
        description=_l("Published with the report: don't write names, phone numbers or other "
                       "personal details."),
        filters=[_text],
        validators=[DataRequired(_l("Describe the problem.")), Length(max=4000)])
    address = StringField(
        _l("Where is it?"), description=_l("An address, or a description of the place, such "
                                           "as “outside 18 Renmin Street”."),
        filters=[_text],
        validators=[DataRequired(_l("Say where the problem is.")), Length(max=300)])
    latitude = DecimalField(
        _l("Latitude (optional)"), places=None,
        description=_l("In degrees, such as 28.4517: from a map app on your phone."),
        validators=[Optional(), NumberRange(-90, 90, _l("A latitude is from -90 to 90."))])
    longitude = DecimalField(
        _l("Longitude (optional)"), places=None, description=_l("In degrees, such as 119.9229."),
        validators=[Optional(), NumberRange(-180, 180, _l("A longitude is from -180 to 180."))])
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("Up to 3 JPEG or PNG photos, 5 MB each. They are published with the "
                       "report, without their metadata."))
    use_photo_location = BooleanField(
        _l("Use the location my phone stored in the photo, if I gave no coordinates"),
        description=_l("Phones can record where a photo was taken. Only the coordinates are "
                       "kept, and only if you tick this."))
    contact_email = EmailField(
        _l("Your email address"),
        description=_l("To send you the tracking number and tell you of the progress. Never "
                       "published."),
        filters=[_text],
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254),
                    Email(_l("Enter an email address such as name@example.com."))])
    contact_name = StringField(_l("Your name (optional)"), filters=[_text],
                               validators=[Optional(), Length(max=100)])

    def signed_in(self) -> "ReportForm":
        """The citizen has an account: it is the contact."""
        del self.contact_email
        del self.contact_name
        return self

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and (self.latitude.data is None) != (self.longitude.data is None):
            empty = self.longitude if self.longitude.data is None else self.latitude
            empty.errors = [_l("Give both the latitude and the longitude, or neither.")]
            return False
        return valid


class StaffForm(FlaskForm):
    """A form of the request's page, which has several: each one's fields are named (and their
    ids made) with its own prefix."""
    prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix)
        super().__init__(*args, **kwargs)


class NotesForm(StaffForm):
    public_note = TextAreaField(
        _l("Public note"), description=_l("Shown on the request's public page and sent to the "
                                          "reporter."),
        filters=[_text], validators=[Optional(), Length(max=NOTE_LENGTH)])
    internal_note = TextAreaField(
        _l("Internal note"), description=_l("Only the city's staff see it."),
        filters=[_text], validators=[Optional(), Length(max=NOTE_LENGTH)])


class UpdateForm(NotesForm):
    prefix = "update"
    status = SelectField(_l("New status"), choices=[])
    close_reason = SelectField(_l("Reason for closing"), choices=[],
                               validate_choice=False)  # checked by workflow.update


class AssignForm(StaffForm):
    prefix = "assign"
    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    internal_note = NotesForm.internal_note


class MergeForm(NotesForm):
    prefix = "merge"
    original = StringField(
        _l("Tracking number of the report it repeats"), description=_l("Such as SR00000012."),
        filters=[lambda value: re.sub(r"\s", "", value or "").upper()],
        validators=[InputRequired(_l("Enter the tracking number of the original report.")),
                    Length(max=20)])


class ReviewForm(StaffForm):
    prefix = "review"
    decision = SelectField(choices=[SelectChoice("accept", _l("Accept")),
                                    SelectChoice("reject", _l("Reject"))])
    internal_note = NotesForm.internal_note


def department_choices(departments, locale, none_label) -> list[SelectChoice]:
    return [SelectChoice(0, none_label), *(SelectChoice(department.id,
                                                        department.name_for(locale))
                                           for department in departments)]


class DepartmentForm(FlaskForm):
    name, name_zh = bilingual_pair(
        _l("Name"), 100, required=_l("Enter the department's name in at least one language."),
        filters=[_text])
    active = BooleanField(_l("Active (can be given requests)"), default=True)


class CategoryForm(FlaskForm):
    code = StringField(
        _l("Code"), description=_l("Open311's service_code, such as pothole: apps use it, so "
                                   "it can't be changed later."),
        filters=[_text],
        validators=[InputRequired(_l("Enter a code.")), Regexp(CODE_PATTERN,
                                                              message=CODE_MESSAGE)])
    name, name_zh = bilingual_pair(
        _l("Name"), 100, required=_l("Enter the category's name in at least one language."),
        filters=[_text])
    description, description_zh = bilingual_pair(_l("Description"), 500, multiline=True,
                                                 filters=[_text])
    days_to_close = IntegerField(
        _l("Time limit in days"), default=7,
        description=_l("Counted from the report; requests still open after it are overdue."),
        validators=[InputRequired(_l("Enter the time limit in days.")),
                    NumberRange(1, 365, _l("Enter a number of days from 1 to 365."))])
    department_id = SelectField(_l("Department given new requests"), coerce=int, choices=[])
    group_name, group_name_zh = bilingual_pair(
        _l("Group (optional)"), 60, hint=_l("Open311's group, such as “streets”."),
        filters=[_text])
    keywords = StringField(_l("Keywords (optional)"),
                           description=_l("Comma separated, to help apps find the category."),
                           filters=[_text], validators=[Optional(), Length(max=300)])
    active = BooleanField(_l("Open for reports"), default=True)

    def existing(self) -> "CategoryForm":
        """Editing a category: its code stays."""
        del self.code
        return self


class AttributeForm(FlaskForm):
    code = StringField(_l("Code"), description=_l("Open311's attribute code, such as size."),
                       filters=[_text],
                       validators=[InputRequired(_l("Enter a code.")),
                                   Regexp(CODE_PATTERN, message=CODE_MESSAGE)])
    datatype = SelectField(_l("Kind of answer"), choices=[])
    variable = BooleanField(
        _l("Asks for an answer"), default=True,
        description=_l("Untick for a note shown with the form that asks nothing."))
    required = BooleanField(_l("An answer is required"))
    description, description_zh = bilingual_pair(
        _l("Question"), 500, required=_l("Write the question in at least one language."),
        multiline=True, filters=[_text])
    hint, hint_zh = bilingual_pair(_l("Hint (optional)"), 200, filters=[_text])
    position = IntegerField(_l("Position"), default=1,
                            description=_l("Questions are asked in this order."),
                            validators=[InputRequired(_l("Enter a position.")),
                                        NumberRange(1, 100)])
    options = TextAreaField(
        _l("Options (lists only)"),
        description=_l("One option a line: code | name in English | name in Chinese, such as "
                       "“deep | Deeper than 5 cm | 深于5厘米”. One of the names may be left "
                       "empty: the other one is shown."),
        filters=[_text])

    def offer(self, labels: dict) -> "AttributeForm":
        self.datatype.choices = [SelectChoice(datatype, labels[datatype])
                                 for datatype in DATATYPES]
        return self

    def validate_options(self, field):
        self.parsed_options = []
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if self.datatype.data not in LISTS:
            if lines:
                raise ValidationError(_l("Only list questions have options."))
            return
        if not lines:
            raise ValidationError(_l("A list question needs at least one option."))
        if len(lines) > MAX_OPTIONS:
            raise ValidationError(_l("Give at most 50 options."))
        for line in lines:
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 3 or not re.match(CODE_PATTERN, parts[0]) \
                    or not (parts[1] or parts[2]) or max(map(len, parts)) > 100:
                raise ValidationError(_l("Write each option as code | name in English | name "
                                         "in Chinese; the code with letters, digits, - or _."))
            self.parsed_options.append({"key": parts[0], "name": parts[1], "name_zh": parts[2]})
        if len({option["key"] for option in self.parsed_options}) != len(lines):
            raise ValidationError(_l("Each option needs a code of its own."))

    def options_text(self, options: list[dict]) -> None:
        self.options.data = "\n".join(f"{o['key']} | {o['name']} | {o['name_zh']}"
                                      for o in options)


class ApiClientForm(FlaskForm):
    name = StringField(_l("Name of the app or system"), filters=[_text],
                       description=_l("Such as “City hotline 12345” or “Neighbourhood app”."),
                       validators=[InputRequired(_l("Name the app.")), Length(max=100)])
