import re

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

DEFAULT_KINDS = "water, electricity, gas"


def _kinds_list(value: str) -> None:
    if not kinds_of(value) or any(not re.fullmatch(r"[a-z_]{1,40}", kind)
                                  for kind in kinds_of(value)):
        raise ValidationError(_l("Give kinds such as: water, electricity, gas."))


def kinds_of(value: str) -> list[str]:
    return [kind.strip() for kind in value.split(",") if kind.strip()]


class UtilityBillSettings(Schema):
    utility_kinds = fields.String(
        load_default=DEFAULT_KINDS, validate=[validate.Length(max=200), _kinds_list],
        metadata={"label": _l("Kinds of utility accounts"),
                  "description": _l("Separated by commas, such as: water, electricity, gas.")})
    link_attempts_per_hour = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=1000),
        metadata={"label": _l("Failed attempts to link an account allowed per hour and "
                              "client")})
