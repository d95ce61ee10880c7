"""The module's forms: the patient's details (citizens), and the staff's set-up, block and
check-in forms. Choices of the selects are filled by the views (choices_for)."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TelField,
)
from wtforms import TimeField as _TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.accounts import is_mobile, normalize_mobile
from app.modules.appointments.models import Department, Doctor, Hospital
from app.web.forms import DateField, bilingual_pair
from app.web.input_checks import bigint_arg
from tenants.db import db

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# What the patient's form and the API (api.py) say of a wrong ID card or mobile number.
ID_NUMBER_HINT = _l("Enter the 18-character ID card number, such as 11010519491231002X; check "
                    "the last character.")
MOBILE_HINT = _l("Enter an 11-digit mainland China mobile number, such as 13812345678.")
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


def is_resident_id(text: str) -> bool:
    """An 18-character resident identity card number with a right check character."""
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        return False
    return ID_CHECK[sum(int(d) * w for d, w in zip(text[:17], ID_WEIGHTS, strict=True)) % 11] \
        == text[17]


def _resident_id(form, field):
    field.data = (field.data or "").strip().upper()
    if not is_resident_id(field.data):
        raise ValidationError(ID_NUMBER_HINT)


def _mobile(form, field):
    if not is_mobile(field.data or ""):
        raise ValidationError(MOBILE_HINT)
    field.data = normalize_mobile(field.data)


class PatientForm(FlaskForm):
    patient_name = StringField(_l("Patient's name"), validators=[
        DataRequired(_l("Enter the patient's name.")), Length(max=100)])
    id_number = StringField(_l("Patient's ID card number"), validators=[_resident_id],
                            description=_l("Shown only to the hospital; we keep it encrypted."))
    phone = TelField(_l("Mobile number"), validators=[_mobile],
                     description=_l("The hospital calls this number if it must change the "
                                    "appointment."))
    # One per rendering of the form: the same form sent twice (a double click) books once.
    idempotency_key = HiddenField(validators=[
        InputRequired(_l("The form has expired. Reload the page and try again.")),
        Length(min=16, max=64)])


class CheckInForm(FlaskForm):
    code = StringField(_l("Reference code or QR code content"), validators=[
        DataRequired(_l("Enter or scan the reference code."))],
        description=_l("Such as ABCD-2345; a scanner may type the QR code's content here."))


def _optional_id(value):
    return bigint_arg(value) if value not in (None, "", "None") else None


class TimeField(_TimeField):
    """A time field whose error says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Enter a time such as 08:30.")) from error


def choices_for(model, scope=None, optional_label=None) -> list[tuple]:
    """(id, name) of the rows of `model` (hospitals, departments or doctors), in the page's
    language, led by an empty choice when `optional_label` is given."""
    locale = get_locale()
    rows = db.session.scalars(db.select(model).order_by(model.id)).all()
    choices = [SelectChoice(row.id, (f"{scope(row)} · " if scope else "") + row.name_for(locale))
               for row in rows]
    return ([SelectChoice("", optional_label)] if optional_label else []) + choices


def department_label(department: Department) -> str:
    return department.hospital.name_for(get_locale())


def doctor_label(doctor: Doctor) -> str:
    return doctor.department.name_for(get_locale())


NAME_REQUIRED = _l("Give a name in at least one language.")
REASON_REQUIRED = _l("Say why: citizens whose appointments are cancelled are told.")


class HospitalForm(FlaskForm):
    name, name_zh = bilingual_pair(_l("Name"), 200, required=NAME_REQUIRED)
    address, address_zh = bilingual_pair(_l("Address"), 300)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    active = BooleanField(_l("Open for booking"), default=True)


class DepartmentForm(FlaskForm):
    hospital_id = SelectField(_l("Hospital"), coerce=int)
    name, name_zh = bilingual_pair(_l("Name"), 200, required=NAME_REQUIRED)
    active = BooleanField(_l("Open for booking"), default=True)

    def fill(self):
        self.hospital_id.choices = choices_for(Hospital)


class DoctorForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=int)
    name, name_zh = bilingual_pair(_l("Name"), 100, required=NAME_REQUIRED)
    title, title_zh = bilingual_pair(_l("Title"), 100, hint=_l("Such as Chief physician."))
    active = BooleanField(_l("Open for booking"), default=True)

    def fill(self):
        self.department_id.choices = choices_for(Department, department_label)


def _doctor_in_department(form) -> bool:
    doctor_id = form.doctor_id.data
    if doctor_id is None:
        return True
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.department_id != form.department_id.data:
        form.doctor_id.errors.append(_l("Choose a doctor of the chosen department."))
        return False
    return True


class ScheduleForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=int)
    doctor_id = SelectField(_l("Doctor"), coerce=_optional_id, description=_l(
        "Leave empty for the department's own hours (any doctor)."))
    weekday = SelectField(_l("Day of the week"), coerce=int,
                          choices=[SelectChoice(number, name)
                                   for number, name in enumerate(WEEKDAYS)])
    start_time = TimeField(_l("From"), validators=[InputRequired(_l("Enter a time such as "
                                                                    "08:30."))])
    end_time = TimeField(_l("To"), validators=[InputRequired(_l("Enter a time such as "
                                                                "08:30."))])
    slot_minutes = IntegerField(_l("Minutes per slot"), default=15, validators=[
        InputRequired(_l("Enter a number from 5 to 240.")),
        NumberRange(min=5, max=240, message=_l("Enter a number from 5 to 240."))])
    capacity = IntegerField(_l("Patients per slot"), default=1, validators=[
        InputRequired(_l("Enter a number from 1 to 1000.")),
        NumberRange(min=1, max=1000, message=_l("Enter a number from 1 to 1000."))])
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_to = DateField(_l("Valid until"), validators=[Optional()])

    def fill(self):
        self.department_id.choices = choices_for(Department, department_label)
        self.doctor_id.choices = choices_for(Doctor, doctor_label, _l("Any doctor"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators) and _doctor_in_department(self)
        if valid and self.start_time.data >= self.end_time.data:
            self.end_time.errors.append(_l("The end must be after the start."))
            valid = False
        if valid and self.valid_from.data and self.valid_to.data \
                and self.valid_from.data > self.valid_to.data:
            self.valid_to.errors.append(_l("The last day can't be before the first."))
            valid = False
        return valid


class ClosureForm(FlaskForm):
    hospital_id = SelectField(_l("Hospital"), coerce=int)
    department_id = SelectField(_l("Department"), coerce=_optional_id,
                                description=_l("Leave empty to close the whole hospital."))
    doctor_id = SelectField(_l("Doctor"), coerce=_optional_id,
                            description=_l("Leave empty to close the whole department."))
    first_day = DateField(_l("First day"), validators=[InputRequired(_l("Enter a date."))])
    last_day = DateField(_l("Last day"), validators=[InputRequired(_l("Enter a date."))])
    reason, reason_zh = bilingual_pair(_l("Reason"), 200, required=REASON_REQUIRED)

    def fill(self):
        self.hospital_id.choices = choices_for(Hospital)
        self.department_id.choices = choices_for(Department, department_label, _l("All"))
        self.doctor_id.choices = choices_for(Doctor, doctor_label, _l("All"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.first_day.data > self.last_day.data:
            self.last_day.errors.append(_l("The last day can't be before the first."))
            valid = False
        department = self.department_id.data and db.session.get(Department,
                                                                  self.department_id.data)
        if valid and department and department.hospital_id != self.hospital_id.data:
            self.department_id.errors.append(_l("Choose a department of the chosen hospital."))
            valid = False
        if valid and self.doctor_id.data is not None:
            if self.department_id.data is None:
                self.department_id.errors.append(_l("Choose the doctor's department."))
                valid = False
            else:
                valid = _doctor_in_department(self)
        return valid


class BlockForm(FlaskForm):
    department_id = SelectField(_l("Department"), coerce=int)
    doctor_id = SelectField(_l("Doctor"), coerce=_optional_id,
                            description=_l("Leave empty to block the whole department."))
    day = DateField(_l("Day"), validators=[InputRequired(_l("Enter a date."))])
    time = TimeField(_l("Slot starting at"), validators=[Optional()],
                     description=_l("Leave empty to block the whole day."))
    reason, reason_zh = bilingual_pair(_l("Reason"), 200, required=REASON_REQUIRED)

    def fill(self):
        self.department_id.choices = choices_for(Department, department_label)
        self.doctor_id.choices = choices_for(Doctor, doctor_label, _l("All"))

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) and _doctor_in_department(self)
