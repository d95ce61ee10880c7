"""The per-city settings of passport renewal. The offices and the required documents are
named in Chinese and English (Names: a list of {"name", "name_zh"}, edited side by side on the
console's page of offices and documents, admin.py); the public holidays are text with one date
a line (Lines), which the console's settings form edits in a text area (metadata
"multiline"). `flask tenants modules --set` takes either as text, one entry a line."""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from app.spreadsheets.imports import is_chinese
from app.web.bilingual import bilingual
from app.web.forms import supported_day

MAX_OFFICES, MAX_DOCUMENTS, MAX_HOLIDAYS = 20, 10, 100
LINE_LENGTH = 200
# An application keeps its office's name (passport_applications.office, 200 characters) and a
# file the document's (passport_documents.kind, 100).
OFFICE_LENGTH, DOCUMENT_LENGTH = 200, 100


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


@dataclass(frozen=True)
class Named:
    """An office or a required document, named by the city in English and Chinese (one of
    the two may be empty)."""
    name: str
    name_zh: str = ""

    name_for = bilingual("name")

    @property
    def key(self) -> str:
        """What an application keeps of its choice (the office, a file's kind): the Chinese
        name, else the English. `is_named` finds the entry again by either."""
        return self.name_zh or self.name

    def is_named(self, text: str) -> bool:
        return bool(text) and text in (self.name, self.name_zh)


def named(entries: list[dict]) -> list[Named]:
    """A Names setting as loaded, as Named entries."""
    return [Named(entry["name"], entry["name_zh"]) for entry in entries]


def find(entries: list[Named], text: str) -> Named | None:
    """The entry an application's stored choice names (a name in either language)."""
    return next((entry for entry in entries if entry.is_named(text)), None)


class Names(fields.Field):
    """A list of names in two languages, kept as [{"name": English, "name_zh": Chinese}], at
    most `most` entries, each name at most `length` characters, every name naming one entry.
    It also reads text, one entry a line — the shape settings had before the two languages,
    and what the command line gives: a line with a Chinese character is the Chinese name, any
    other the English (the rule of app.spreadsheets' old files). Entries without a name are
    dropped, as blank lines are."""

    def __init__(self, most: int, length: int, **kwargs):
        super().__init__(load_default=list, **kwargs)
        self.most, self.length = most, length

    def _serialize(self, value, attr, obj, **kwargs):
        return value

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [{"name_zh" if is_chinese(line) else "name": line} for line in lines(value)]
        if not isinstance(value, list):
            raise ValidationError(_("Give a list of names."))
        entries, errors, seen = [], {}, set()
        for index, item in enumerate(value):
            entry, problems = self._entry(item, seen)
            if problems:
                errors[index] = problems
            elif entry["name"] or entry["name_zh"]:
                entries.append(entry)
        if errors:
            raise ValidationError(errors)
        if len(entries) > self.most:
            raise ValidationError(_("Give at most %(count)d.", count=self.most))
        return entries

    def _entry(self, item, seen: set) -> tuple[dict, dict]:
        """One entry, its names trimmed, and its problems by name."""
        if not isinstance(item, dict) or set(item) - {"name", "name_zh"} or not all(
                isinstance(text, str) for text in item.values()):
            return {}, {"name": [_("Give a name in Chinese, in English, or both.")]}
        entry = {key: item.get(key, "").strip() for key in ("name", "name_zh")}
        problems = {}
        for key, text in entry.items():
            if len(text) > self.length:
                problems[key] = [_("At most %(max)d characters.", max=self.length)]
            elif any(ord(character) < 32 for character in text):
                problems[key] = [_("Write one line, without control characters.")]
            elif text in seen:
                problems[key] = [_("%(name)s names another entry already: each must be "
                                   "different.", name=text)]
        seen.update(text for text in entry.values() if text)
        return entry, problems


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
    offices = Names(MAX_OFFICES, OFFICE_LENGTH, metadata={
        "label": _l("Offices for collection"),
        "description": _l("Each office's name and address. Without any, passports are only "
                          "delivered.")})
    required_documents = Names(MAX_DOCUMENTS, DOCUMENT_LENGTH, metadata={
        "label": _l("Required documents besides the photo"),
        "description": _l("Such as “Household register page”.")})
    public_holidays = Lines(
        validate=[_list_of(MAX_HOLIDAYS), _dates],
        metadata={"label": _l("Public holidays"),
                  "description": _l("One date a line (2026-10-01): not counted as working "
                                    "days.")})
