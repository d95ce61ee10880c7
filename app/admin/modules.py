"""The console's module pages: every module the city may offer (those its plan includes, and
any it enabled before its plan changed), whether it is enabled, and its settings in a form
generated from the module's marshmallow schema. A module outside the plan answers 404.

Changes go through `app.modules.configure` (validated first, applied all or nothing) and are
written to the audit log ("module.configure", target the key, before/after) in the same
transaction. Administrators configure every module, module managers the modules they are
given; everyone else on the staff reads the page, and is refused (403) when they post."""
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import fields as mf
from marshmallow import validate as mv
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from app import audit
from app.admin.blueprint import bp
from app.modules import ModuleError, configure, discover, is_enabled, outside_plan, settings_of
from app.staff.permissions import CONFIGURE_MODULE, VIEW, can, current_staff, staff_required
from app.web.forms import DecimalField, form_status
from tenants.db import db

ENABLED = "enabled"


# -- a WTForms form from a marshmallow schema -----------------------------------------------------

def _validators_of(field: mf.Field, kind: type[mf.Field]) -> list:
    validators = field.validators if isinstance(field.validators, list | tuple) else []
    return [v for v in validators if isinstance(v, kind)]


def _range_of(field: mf.Field) -> tuple[object, object]:
    """The tightest min and max of the field's Range validators (None where open)."""
    low = high = None
    for rule in _validators_of(field, mv.Range):
        if rule.min is not None and (low is None or rule.min > low):
            low = rule.min
        if rule.max is not None and (high is None or rule.max < high):
            high = rule.max
    return low, high


def _length_of(field: mf.Field) -> tuple[int | None, int | None]:
    low = high = None
    for rule in _validators_of(field, mv.Length):
        if rule.equal is not None:
            return rule.equal, rule.equal
        if rule.min is not None and (low is None or rule.min > low):
            low = rule.min
        if rule.max is not None and (high is None or rule.max < high):
            high = rule.max
    return low, high


def _number_message(low, high) -> str:
    if low is not None and high is not None:
        return _l("Enter a number from %(min)s to %(max)s.", min=low, max=high)
    if low is not None:
        return _l("Enter a number of at least %(min)s.", min=low)
    return _l("Enter a number of at most %(max)s.", max=high)


def _length_message(low, high) -> str:
    if low is not None and high is not None:
        return _l("Enter %(min)d to %(max)d characters.", min=low, max=high)
    if low is not None:
        return _l("Enter at least %(min)d characters.", min=low)
    return _l("Enter at most %(max)d characters.", max=high)


def _form_field(name: str, field: mf.Field):
    """The unbound WTForms field for one schema field, or None where the console can't edit
    that kind of value (it is then left as stored)."""
    label = field.metadata.get("label") or name
    description = field.metadata.get("description") or ""
    required = [Optional()] if field.allow_none else [
        InputRequired(_l("Enter a value."))]
    choices = _validators_of(field, mv.OneOf)
    if choices and not isinstance(field, mf.Boolean):
        rule = choices[0]
        labels = list(rule.labels) or [str(choice) for choice in rule.choices]
        return SelectField(label, description=description,
                           choices=[SelectChoice(str(choice), text) for choice, text
                                    in zip(rule.choices, labels, strict=False)],
                           validate_choice=True)
    if isinstance(field, mf.Boolean):
        return BooleanField(label, description=description)
    if isinstance(field, mf.Integer | mf.Float | mf.Decimal):
        low, high = _range_of(field)
        attrs = {key: value for key, value in (("min", low), ("max", high)) if value is not None}
        validators = list(required)
        if attrs:
            validators.append(NumberRange(min=low, max=high, message=_number_message(low, high)))
        if isinstance(field, mf.Integer):
            return IntegerField(label, validators=validators, description=description,
                                render_kw={**attrs, "inputmode": "numeric"})
        return DecimalField(label, validators=validators, description=description,
                            render_kw={**attrs, "inputmode": "decimal", "step": "any"})
    if isinstance(field, mf.String):  # Email is a String
        low, high = _length_of(field)
        validators = list(required) if low else [Optional()]
        render_kw = {}
        if low is not None or high is not None:
            validators.append(Length(min=low if low is not None else -1,
                                     max=high if high is not None else -1,
                                     message=_length_message(low, high)))
            if high is not None:
                render_kw["maxlength"] = high
        if isinstance(field, mf.Email):
            validators.append(Email(message=_l("Enter an email address such as "
                                               "name@example.com.")))
            return EmailField(label, validators=validators, description=description,
                              render_kw=render_kw)
        # metadata "multiline": a list kept as text, one entry a line (passport offices ...)
        kind = TextAreaField if field.metadata.get("multiline") else StringField
        return kind(label, validators=validators, description=description,
                    render_kw=render_kw)
    return None


class ModuleForm(FlaskForm):
    """The enable checkbox; `settings_form_class` adds a field per editable setting."""

    enabled = BooleanField(_l("Enabled"), description=_l(
        "While it is enabled, the module's pages are open in this city."))
    setting_names: tuple[str, ...] = ()
    _schema_fields: dict = {}

    def settings_values(self) -> dict:
        """The submitted settings, as the module's schema loads them."""
        values = {}
        for name in self.setting_names:
            value, kind = self[name].data, self._schema_fields[name]
            if isinstance(value, str) and value == "" and kind.allow_none:
                value = None
            elif isinstance(value, Decimal) and isinstance(kind, mf.Float):
                value = float(value)
            elif isinstance(value, Decimal):
                value = str(value)
            values[name] = value
        return values

    @classmethod
    def initial_data(cls, enabled: bool, settings: dict) -> dict:
        """The city's choices, as the form shows them (choices of a select are text)."""
        data = {ENABLED: enabled}
        for name in cls.setting_names:
            value = settings.get(name)
            selects = getattr(cls, name).field_class is SelectField
            data[name] = str(value) if selects and value is not None else value
        return data


RESERVED = frozenset(dir(FlaskForm)) | {ENABLED, "csrf_token", "setting_names", "initial_data",
                                        "settings_values", "_schema_fields"}


def settings_form_class(schema: type | None) -> type[ModuleForm]:
    """A ModuleForm subclass with a field per setting of `schema` (a marshmallow Schema
    class), in the schema's order; labels from `metadata["label"]`, else the field's name."""
    if schema is None:
        return ModuleForm
    attrs, names, kinds = {}, [], {}
    for name, field in schema().fields.items():
        if field.dump_only:
            continue
        if name in RESERVED or name.startswith("_"):
            raise RuntimeError(f"the setting {name!r} of {schema.__name__} can't be a form field")
        form_field = _form_field(name, field)
        if form_field is not None:
            attrs[name], kinds[name] = form_field, field
            names.append(name)
    attrs.update(setting_names=tuple(names), _schema_fields=kinds)
    return type(f"{schema.__name__}Form", (ModuleForm,), attrs)


def _attach_errors(form: ModuleForm, errors: dict) -> None:
    """ModuleError's "key.field" → messages onto the form's fields; the rest onto the form."""
    for target, messages in errors.items():
        _, _dot, name = target.partition(".")
        texts = list(_flatten(messages))
        if name in form.setting_names:
            form[name].errors = [*form[name].errors, *texts]
        else:
            form.form_errors.extend(texts)


def _flatten(messages):
    if isinstance(messages, dict):
        for inner in messages.values():
            yield from _flatten(inner)
    elif isinstance(messages, list | tuple):
        for inner in messages:
            yield from _flatten(inner)
    else:
        yield str(messages)


# -- pages ---------------------------------------------------------------------------------------

def _module_or_404(key: str):
    module = discover().get(key)
    if module is None or outside_plan(key):
        abort(404)
    return module


@bp.get("/modules")
@staff_required(VIEW)
def modules_list():
    staff = current_staff()
    modules = sorted((m for m in discover().values() if not outside_plan(m.key)),
                     key=lambda m: (m.order, m.key))
    rows = [(module, is_enabled(module.key), can(staff, CONFIGURE_MODULE, module=module.key))
            for module in modules]
    return render_template("admin/modules/list.html", rows=rows)


@bp.route("/modules/<key>", methods=["GET", "POST"])
@staff_required(VIEW)
def module_edit(key):
    module = _module_or_404(key)
    allowed = can(current_staff(), CONFIGURE_MODULE, module=key)
    if request.method == "POST" and not allowed:
        abort(403)
    form_class = settings_form_class(module.settings)
    form = form_class(data=form_class.initial_data(is_enabled(key), settings_of(key)))
    if form.validate_on_submit():
        enabled = bool(form.enabled.data)
        values = form.settings_values()
        try:
            changes = configure(enable=[key] if enabled else [],
                                disable=[] if enabled else [key],
                                values={key: values} if values else None)
        except ModuleError as error:
            db.session.rollback()
            _attach_errors(form, error.errors)
        else:
            if changes:
                for changed, (before, after) in changes.items():
                    audit.record(audit.actor_of(current_user), "module.configure", changed,
                                 before, after)
                db.session.commit()
                flash(_("%(module)s: your changes are saved.", module=module.name), "success")
            else:
                db.session.rollback()
                flash(_("%(module)s: nothing was changed.", module=module.name), "info")
            return redirect(url_for("admin.module_edit", key=key))
    if not allowed:
        for field in form:
            field.render_kw = {**(field.render_kw or {}), "disabled": True}
    return render_template("admin/modules/edit.html", module=module, form=form,
                           allowed=allowed, enabled=is_enabled(key)), (
        form_status(form))
