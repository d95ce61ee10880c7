import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

DEFAULT_KINDS = "water, electricity, gas"
KIND_NAME_MAX = 40


def _kinds_list(value: str) -> None:
    if not kinds_of(value) or any(not re.fullmatch(r"[a-z_]{1,40}", kind)
                                  for kind in kinds_of(value)):
        raise ValidationError(_("Give kinds such as: water, electricity, gas."))


def kinds_of(value: str) -> list[str]:
    return [kind.strip() for kind in value.split(",") if kind.strip()]


def kind_names_of(value: str) -> dict[str, tuple[str, str]]:
    """The city's names of its kinds, "code | 中文名 | English name" a line, as
    {code: (English, Chinese)}. Raises ValidationError naming the first wrong line."""
    names = {}
    for number, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not re.fullmatch(r"[a-z_]{1,40}", parts[0]) or not (
                parts[1] or parts[2]) or any(
                len(name) > KIND_NAME_MAX or not name.isprintable() for name in parts[1:]):
            raise ValidationError(_(
                "Line %(line)d: write the kind, its Chinese name and its English name, such "
                "as: heating | 供暖 | Heating (names of at most 40 characters; one of the two "
                "may be left empty).", line=number))
        names[parts[0]] = (parts[2], parts[1])
    return names


class UtilityBillSettings(Schema):
    utility_kinds = fields.String(
        load_default=DEFAULT_KINDS, validate=[validate.Length(max=200), _kinds_list],
        metadata={"label": _l("Kinds of utility accounts"),
                  "description": _l("Separated by commas, such as: water, electricity, gas.")})
    kind_names = fields.String(
        load_default="", validate=[validate.Length(max=2000), kind_names_of],
        metadata={"label": _l("Names of the kinds"), "multiline": True, "description": _l(
            "For kinds other than water, electricity and gas, or to rename those: one a line, "
            "the kind, its Chinese name and its English name, such as: heating | 供暖 | "
            "Heating. Citizens see the name in their language, or the other one.")})
    link_attempts_per_hour = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=1000),
        metadata={"label": _l("Failed attempts to link an account allowed per hour and "
                              "client")})

    @validates_schema
    def _names_are_of_kinds(self, data, **_kwargs):
        kinds = set(kinds_of(data.get("utility_kinds", DEFAULT_KINDS)))
        unknown = sorted(set(kind_names_of(data.get("kind_names", ""))) - kinds)
        if unknown:
            raise ValidationError(_("Not one of the kinds above: %(kinds)s.",
                                    kinds=", ".join(unknown)), "kind_names")
