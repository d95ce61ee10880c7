"""The forms of an application's steps (their fields are named as the application's columns),
of uploads and submission, and of the staff's actions."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from app.modules.passports.models import DELIVERY, OFFICE, PHOTO
from app.modules.passports.settings import (
    DOCUMENT_LENGTH,
    MAX_DOCUMENTS,
    MAX_OFFICES,
    OFFICE_LENGTH,
    Named,
    find,
)
from app.modules.passports.workflow import COLLECTION_METHODS, REASONS
from app.web.forms import DateField

OTHER = "other"  # the document kind of an extra supporting document
# Names of the kinds that aren't a required document's own name.
DOCUMENT_KINDS = {PHOTO: _l("Passport photo"), OTHER: _l("Other supporting document")}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class StepForm(FlaskForm):
    """A step of the application: `save_to` copies its answers onto the application."""

    def save_to(self, application) -> None:
        for field in self:
            if field.name != "csrf_token":
                value = field.data
                setattr(application, field.name, value.strip() if isinstance(value, str)
                        else value)


def _in_the_past(form, field):
    if field.data and field.data >= date.today():
        raise ValidationError(_l("Enter a date in the past."))


class PersonalForm(StepForm):
    full_name = StringField(_l("Full name, as in your passport"), validators=[
        InputRequired(_l("Enter your full name.")), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[
        InputRequired(_l("Enter your date of birth, such as 1985-04-23.")), _in_the_past])
    id_number = StringField(
        _l("Resident identity card number"), description=_l("18 characters."),
        filters=[lambda v: (v or "").strip().upper()],
        validators=[InputRequired(_l("Enter your identity card number.")),
                    Regexp(r"^\d{17}[\dX]$", message=_l(
                        "An identity card number has 17 digits and a last digit or X."))])
    phone = StringField(_l("Phone number"), validators=[
        InputRequired(_l("Enter a phone number we can call you on.")),
        Regexp(r"^\+?[0-9][0-9 ()\-]{5,18}$", message=_l(
            "Enter a phone number: digits, spaces, + - and parentheses."))])


class PassportForm(StepForm):
    passport_number = StringField(
        _l("Number of your current passport"), description=_l("Such as E12345678."),
        filters=[lambda v: re.sub(r"\s", "", v or "").upper()],
        validators=[InputRequired(_l("Enter the passport number.")),
                    Regexp(r"^[A-Z]{1,2}\d{7,8}$", message=_l(
                        "A passport number has one or two letters and 7 or 8 digits."))])
    passport_expiry = DateField(_l("Its expiry date"), validators=[
        InputRequired(_l("Enter the expiry date, such as 2027-01-31."))])


class ReasonForm(StepForm):
    reason = RadioField(_l("Why do you renew your passport?"),
                        choices=_choices(REASONS),
                        validators=[InputRequired(_l("Choose a reason."))])
    reason_details = TextAreaField(_l("Anything we should know (optional)"),
                                   validators=[Optional(), Length(max=1000)])


class CollectionForm(StepForm):
    collection_method = RadioField(_l("How do you want to receive the new passport?"),
                                   choices=_choices(COLLECTION_METHODS),
                                   validators=[InputRequired(_l("Choose how to receive it."))])
    office = SelectField(_l("Office"), choices=[], validate_choice=False)
    delivery_address = TextAreaField(_l("Delivery address"), validators=[Length(max=300)])

    def offer(self, offices: list[Named]) -> "CollectionForm":
        """The city's offices as choices, named in the page's language; without any,
        delivery only. An application's office chosen before (under either name) stays
        chosen."""
        self.office.choices = _choices({"": _l("Choose an office"),
                                        **{o.key: o.name_for() for o in offices}})
        if not offices:
            self.collection_method.choices = _choices({DELIVERY: COLLECTION_METHODS[DELIVERY]})
        chosen = find(offices, self.office.data or "")
        if chosen is not None:
            self.office.data = chosen.key
        self._offices = offices
        return self

    def validate_office(self, field):
        if self.collection_method.data == OFFICE and find(self._offices, field.data) is None:
            raise ValidationError(_l("Choose the office where you will pick it up."))

    def validate_delivery_address(self, field):
        if self.collection_method.data == DELIVERY and not (field.data or "").strip():
            raise ValidationError(_l("Enter the address to deliver the passport to."))

    def save_to(self, application) -> None:
        super().save_to(application)
        if application.collection_method == OFFICE:
            application.delivery_address = ""
        else:
            application.office = ""


class UploadForm(FlaskForm):
    kind = SelectField(_l("What is it?"), choices=[])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))],
                     description=_l("The photo: JPEG or PNG, at most 2 MB. Documents: PDF, JPEG "
                                    "or PNG, at most 5 MB."))

    def offer(self, required: list[Named]) -> "UploadForm":
        self.kind.choices = _choices({PHOTO: DOCUMENT_KINDS[PHOTO],
                                      **{document.key: document.name_for()
                                         for document in required},
                                      OTHER: DOCUMENT_KINDS[OTHER]})
        return self


class SubmitForm(FlaskForm):
    idempotency_key = HiddenField()  # one payment request per rendering of the review page
    reply = TextAreaField(_l("Your answer to the city's question"),
                          validators=[Optional(), Length(max=2000)])


class StaffActionForm(FlaskForm):
    message = TextAreaField(_l("Message to the applicant"),
                            validators=[Optional(), Length(max=2000)])
    notes = TextAreaField(_l("Notes for the staff (the applicant doesn't see them)"),
                          validators=[Optional(), Length(max=2000)])


# -- the console's page of offices and required documents ------------------------------------

def _name_form(length: int) -> type[Form]:
    """One office's or document's names, the Chinese beside the English. The settings'
    schema (settings.Names) checks them, so the messages are the command line's too."""
    class NameForm(Form):
        name_zh = StringField(_l("In Chinese"), render_kw={"maxlength": length, "lang": "zh-Hans"})
        name = StringField(_l("In English"), render_kw={"maxlength": length, "lang": "en"})
    return NameForm


class NamesForm(FlaskForm):
    """The offices and the required documents, a row each (and empty rows to add more)."""
    offices = FieldList(FormField(_name_form(OFFICE_LENGTH)), max_entries=MAX_OFFICES)
    required_documents = FieldList(FormField(_name_form(DOCUMENT_LENGTH)),
                                   max_entries=MAX_DOCUMENTS)
    LISTS = {"offices": MAX_OFFICES, "required_documents": MAX_DOCUMENTS}  # most rows
    EMPTY_ROWS = 3

    @classmethod
    def of(cls, settings: dict) -> "NamesForm":
        """The form of the city's names, with empty rows to add more (up to the limits)."""
        return cls(data={name: [*settings[name], *[{}] * min(cls.EMPTY_ROWS, most - len(
            settings[name]))] for name, most in cls.LISTS.items()})

    def values(self) -> dict:
        """The rows as the settings' schema reads them (an empty row is dropped there)."""
        return {name: [row.data for row in self[name]] for name in self.LISTS}

    def attach(self, errors: dict) -> None:
        """The schema's messages ("passports.offices": {row: {name: [...]}}, or a list
        about the whole list) onto the rows' fields, the rest onto the form."""
        for target, messages in errors.items():
            name = target.partition(".")[2]
            if name in self.LISTS and isinstance(messages, dict):
                for index, problems in messages.items():
                    for key, texts in problems.items():
                        field = self[name][int(index)][key]
                        field.errors = [*field.errors, *texts]
            else:
                self.form_errors.extend(messages if isinstance(messages, list) else [messages])
