import re
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate


def _percent(value: str) -> None:
    """A percentage written as text ("3", "0.05"), read with Decimal where it is used: stored
    settings are JSON, which has no exact decimal type."""
    if not re.fullmatch(r"\d{1,3}(\.\d{1,4})?", value) or Decimal(value) > 100:
        raise ValidationError(_("Give a percentage from 0 to 100, such as 3 or 0.05."))


class TrafficFineSettings(Schema):
    plate_prefix = fields.String(
        load_default="", validate=validate.Regexp(
            r"^([\u4e00-\u9fff][A-Z])?$",
            error=_l("Give the province's character and the city's letter, such as 浙K, or "
                     "leave it empty.")),
        metadata={"label": _l("Plate prefix of the city's vehicles"),
                  "description": _l("Such as 浙K: the look-up page's example plate starts "
                                    "with it.")})
    late_fee_percent_per_day = fields.String(
        load_default="3", validate=_percent,
        metadata={"label": _l("Late fee per day after the due date (percent of the fine)"),
                  "description": _l("0 for no late fee. The law's default is 3 percent.")})
    late_fee_cap_percent = fields.Integer(
        load_default=100, validate=validate.Range(min=0, max=1000),
        metadata={"label": _l("Late fee at most (percent of the fine)")})
    lookups_per_hour = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=1000),
        metadata={"label": _l("Failed fine look-ups allowed per hour and client")})
