"""The answers to a category's extra questions, read the same way from the citizen's form and
from an Open311 POST (attribute[code]=value, attribute[code][]=value for lists): each answer
checked against its question's datatype and options, kept as text (a list of keys for a
multivaluelist), a datetime with its offset (the city's time zone where none is given)."""
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from app.city_time import city_zone
from app.modules.service_requests.georeport import NOT_IN_XML
from app.modules.service_requests.models import ServiceAttribute, ServiceCategory
from app.web.forms import is_supported_day, unsupported_day_message

MAX_ANSWER_LENGTH = {"string": 200, "text": 2000}


def clean_text(value: str | None) -> str:
    """Text as people and apps send it, without what no page or XML document may carry
    (control characters but tab and line feed), line breaks as line feeds, trimmed."""
    return NOT_IN_XML.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


class AnswersRefused(ValueError):
    """Some answers are missing or wrong: `errors` maps each question's code to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{code}: {message}" for code, message in errors.items()))
        self.errors = errors


def questions(category: ServiceCategory) -> list[ServiceAttribute]:
    """The questions that ask for an answer, in their order."""
    return [attribute for attribute in category.attributes if attribute.variable]


def read_answers(category: ServiceCategory, given: dict[str, list[str]]) -> dict:
    """{code: answer} of the category's questions from `given` ({code: the values sent});
    AnswersRefused names every problem. Answers to no question of the category are ignored."""
    answers, errors = {}, {}
    for attribute in questions(category):
        values = [value.strip() for value in given.get(attribute.code, []) if value.strip()]
        if not values:
            if attribute.required:
                errors[attribute.code] = _("Answer this question.")
            continue
        try:
            answers[attribute.code] = _read(attribute, values)
        except ValueError as error:
            errors[attribute.code] = str(error)
    if errors:
        raise AnswersRefused(errors)
    return answers


def _read(attribute: ServiceAttribute, values: list[str]) -> str | list[str]:
    if attribute.datatype == "multivaluelist":
        keys = {option["key"] for option in attribute.options}
        if any(value not in keys for value in values):
            raise ValueError(_("Choose among the options given."))
        return list(dict.fromkeys(values))  # each key once, in the order given
    if len(values) > 1:
        raise ValueError(_("Give one answer only."))
    value = values[0]
    if attribute.datatype == "singlevaluelist":
        if value not in {option["key"] for option in attribute.options}:
            raise ValueError(_("Choose one of the options given."))
        return value
    if attribute.datatype == "number":
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(_("Enter a number, such as 12 or 3.5.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValueError(_("Enter a number, such as 12 or 3.5."))
        return str(number)
    if attribute.datatype == "datetime":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(_("Enter a date and time, such as 2026-05-01T14:30.")) from None
        if not is_supported_day(moment.date()):
            raise ValueError(unsupported_day_message())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=city_zone())
        return moment.isoformat(timespec="seconds")
    limit = MAX_ANSWER_LENGTH[attribute.datatype]
    if attribute.datatype == "string" and ("\n" in value or "\r" in value):
        raise ValueError(_("Write the answer on one line."))
    if len(value) > limit:
        raise ValueError(_("Write at most %(count)d characters.", count=limit))
    return value


def shown_answers(category: ServiceCategory, answers: dict, locale) -> list[tuple[str, str]]:
    """(question, answer) to show, in the questions' order (options by their names); answers to
    questions removed since are shown under their code."""
    shown, by_code = [], {attribute.code: attribute for attribute in category.attributes}
    for code, answer in sorted(answers.items(), key=lambda item: _order(by_code, item[0])):
        attribute = by_code.get(code)
        if attribute is None:
            shown.append((code, ", ".join(answer) if isinstance(answer, list) else answer))
            continue
        names = attribute.option_names(locale)
        keys = answer if isinstance(answer, list) else [answer]
        shown.append((attribute.description_for(locale),
                      ", ".join(names.get(key, key) for key in keys)))
    return shown


def _order(by_code: dict, code: str) -> tuple:
    attribute = by_code.get(code)
    return (0, attribute.position, attribute.id) if attribute else (1, 0, 0)
