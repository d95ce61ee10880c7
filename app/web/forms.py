"""The convention every form page keeps: a form sent with problems comes back with the values
kept, each problem named next to its field, and the status 422 (Unprocessable Content). And the
fields every form uses for dates and decimal numbers, which accept only what the database and
the pages' arithmetic can hold (a date's day after, its midnight in the city's time zone), and
the pair of fields of a text the city enters in Chinese and English (bilingual_pair)."""
from datetime import date
from decimal import Decimal

import wtforms
from flask_babel import lazy_gettext as _l
from wtforms.validators import Length, StopValidation

INVALID_FORM = 422

# The days anyone may type or import. Python and PostgreSQL both know 0001-01-01..9999-12-31,
# but the day after the last, or the first's midnight in a city east of UTC, overflows Python's
# date: a margin of centuries either side keeps every calculation in range.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
# Decimal numbers beyond what PostgreSQL's NUMERIC can parse (1e-99999 would be a server error).
MAX_DECIMAL_EXPONENT = 1000


def form_status(form) -> int:
    """The status of a page showing `form`: 422 once it was sent (and so is invalid), else 200."""
    return INVALID_FORM if form.is_submitted() else 200


def is_supported_day(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def supported_day(text: str) -> date:
    """The day `text` writes as YYYY-MM-DD, if it is a supported one; else ValueError."""
    day = date.fromisoformat(text)
    if not is_supported_day(day):
        raise ValueError(f"{text!r} is outside {EARLIEST_DAY}..{LATEST_DAY}")
    return day


def unsupported_day_message():
    return _l("Enter a date from %(first)s to %(last)s, such as 2026-01-31.",
              first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat())


class DateField(wtforms.DateField):
    """A date (YYYY-MM-DD) from EARLIEST_DAY to LATEST_DAY, whose error says what to type."""

    def __init__(self, label=None, validators=None, render_kw=None, **kwargs):
        kwargs.setdefault("invalid_value_message", unsupported_day_message())
        render_kw = {"min": EARLIEST_DAY.isoformat(), "max": LATEST_DAY.isoformat(),
                     **(render_kw or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not is_supported_day(self.data):
            self.data = None
            raise ValueError(unsupported_day_message())


class DecimalField(wtforms.DecimalField):
    """A decimal number that is a number: not NaN or infinity (which no range check can
    compare), nor so many places long that the database can't read it."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not _is_plain_number(self.data):
            self.data = None
            raise ValueError(_l("Enter a number such as 28.4517."))


class _InPair:
    """A field of a text the city enters in both languages: `legend` names the pair and `hint`
    says what goes in it (the bilingual_field macro of _forms.html shows both once, over the
    two fields)."""

    def __init__(self, *args, legend, hint=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.legend, self.hint = legend, hint


class PairedStringField(_InPair, wtforms.StringField):
    pass


class PairedTextAreaField(_InPair, wtforms.TextAreaField):
    pass


def _trimmed(value) -> str:
    return value.strip() if isinstance(value, str) else ""  # a field not sent: empty


def _one_of_pair(message):
    """The Chinese field's check of a required pair: this one or its English twin (the field
    named without `_zh`) must be given; the page shows the other as fallback."""
    def check(form, field):
        if not field.data and not form[field.name.removesuffix("_zh")].data:
            raise StopValidation(message)
    return check


def bilingual_pair(legend, max_length: int, required=None, multiline=False, hint=None,
                   filters=()):
    """The two fields of a text the city enters in both languages, to unpack as
    `<name>, <name>_zh = bilingual_pair(...)`: English and Chinese, trimmed, each at most
    `max_length` characters. With `required` (the message saying so), at least one of the two
    must be given; citizens see the other where one is missing (app.web.bilingual.in_language)."""
    field_class = PairedTextAreaField if multiline else PairedStringField
    too_long = Length(max=max_length,
                      message=_l("Enter at most %(max)d characters.", max=max_length))
    english = field_class(_l("English"), filters=[*filters, _trimmed], validators=[too_long],
                          render_kw={"lang": "en"}, legend=legend, hint=hint)
    chinese = field_class(_l("Chinese"), filters=[*filters, _trimmed],
                          validators=[*([_one_of_pair(required)] if required else []),
                                      too_long],
                          render_kw={"lang": "zh-Hans"}, legend=legend, hint=hint)
    return english, chinese


def _is_plain_number(number: Decimal) -> bool:
    return number.is_finite() and abs(number.as_tuple().exponent) <= MAX_DECIMAL_EXPONENT \
        and abs(number.adjusted()) <= MAX_DECIMAL_EXPONENT
