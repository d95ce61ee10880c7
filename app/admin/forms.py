"""Forms of the administration console (Flask-WTF: every form that changes something carries a
CSRF token; the audit filter is a GET form and has none)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.forms import new_password_fields
from app.modules import module_choices
from app.staff import role_label
from app.staff.models import MODULE_ROLES, ROLES


def role_choices() -> list[tuple[str, str]]:
    return [(role, role_label(role)) for role in ROLES]


class RoleFieldsMixin:
    def _check_modules(self) -> bool:
        known = {key for key, _ in module_choices()}
        if self.role.data in MODULE_ROLES and not self.modules.data:
            self.modules.errors.append(_l("Choose at least one module for this role."))
            return False
        if set(self.modules.data or []) - known:
            self.modules.errors.append(_l("Choose modules from the list."))
            return False
        return True

    @property
    def chosen_modules(self) -> list[str]:
        return sorted(self.modules.data or []) if self.role.data in MODULE_ROLES else []


class StaffRoleForm(RoleFieldsMixin, FlaskForm):
    role = SelectField(_l("Role"), choices=[])
    modules = SelectMultipleField(
        _l("Modules"), choices=[], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(), validate_choice=False,
        description=_l("For module managers and clerks: the modules they work on."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
        self.modules.choices = module_choices()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self._check_modules() and valid


class InviteForm(StaffRoleForm):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter the email address of the person to invite.")), Length(max=254),
        Email(message=_l("Enter an email address such as name@example.com."))])


class NewAccountForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=100)])
    password, confirm = new_password_fields()
