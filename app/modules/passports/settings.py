"""The per-city settings of passport renewal. Lists (offices, required documents, public
holidays) are text with one entry per line (Lines), so the console's settings form edits them
in a text area (metadata "multiline") and `flask tenants modules --set` takes them as text."""
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from app.web.forms import supported_day

MAX_OFFICES, MAX_DOCUMENTS, MAX_HOLIDAYS = 20, 10, 100
LINE_LENGTH = 200


def lines(text: str | None) -> list[str]:
    """The non-empty lines of a list setting, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# Validators run when settings are loaded, in the language of the moment: plain strings
# (marshmallow takes any other object for a list of messages).
def _list_of(most: int):
    def check(text: str) -> None:
        entries = lines(text)
        if len(entries) > most:
            raise ValidationError(_("Give at most %(count)d lines.", count=most))
        if any(len(entry) > LINE_LENGTH for entry in entries):
            raise ValidationError(_("Each line may have at most %(count)d characters.",
                                     count=LINE_LENGTH))
        if len(set(entries)) != len(entries):
            raise ValidationError(_("Each line must be different."))
    return check


def _dates(text: str) -> None:
    for entry in lines(text):
        try:
            supported_day(entry)
        except ValueError:
            raise ValidationError(_("%(line)s is not a date: write one date a line, such as "
                                     "2026-10-01.", line=entry)) from None


def holidays(text: str | None) -> frozenset[date]:
    return frozenset(date.fromisoformat(entry) for entry in lines(text))


class Lines(fields.String):
    """A list kept as text, one entry a line (stored trimmed, without blank lines); the
    console's settings form shows it as a text area."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "multiline": True}
        super().__init__(load_default="", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return "\n".join(lines(super()._deserialize(value, attr, data, **kwargs)))


class PassportSettings(Schema):
    fee_fen = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=1_000_000),
        metadata={"label": _l("Fee in fen (0: no fee)"),
                  "description": _l("100 fen = 1 yuan. With a fee, the citizen pays when "
                                    "submitting.")})
    sla_working_days = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=120),
        metadata={"label": _l("Working days to decide (SLA)"),
                  "description": _l("Counted from the submission; Saturdays, Sundays and the "
                                    "public holidays below don't count.")})
    offices = Lines(
        validate=_list_of(MAX_OFFICES),
        metadata={"label": _l("Offices for collection"),
                  "description": _l("One office a line (name and address). Without any, "
                                    "passports are only delivered.")})
    required_documents = Lines(
        validate=_list_of(MAX_DOCUMENTS),
        metadata={"label": _l("Required documents besides the photo"),
                  "description": _l("One document a line, such as “Household register "
                                    "page”.")})
    public_holidays = Lines(
        validate=[_list_of(MAX_HOLIDAYS), _dates],
        metadata={"label": _l("Public holidays"),
                  "description": _l("One date a line (2026-10-01): not counted as working "
                                    "days.")})
