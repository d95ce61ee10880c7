"""Open311 GeoReport v2 on each city's host, at /open311/v2/ (and its service discovery at
/open311/discovery.<format>), in XML and JSON, as the specification has it: the service list,
service definitions, service requests (GET with its filters, POST with an api_key the city
issued), one request, and tokens for reports not given an id yet. Field names, types and error
documents follow the specification to the letter, so existing clients work unchanged; see
docs/modules/service_requests.md.

The api_key is the POST's credential (no cookie, so no CSRF token); every call is throttled
per key (per client address without one); jurisdiction_id, optional since each host serves
one city, must name this city when given. Nothing personal is ever returned."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import wraps

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, g, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.branding import offered_languages
from app.city_time import city_zone
from app.extensions import csrf, limiter
from app.modules import settings_of
from app.modules.service_requests.answers import AnswersRefused, clean_text, read_answers
from app.modules.service_requests.api_keys import client_of
from app.modules.service_requests.georeport import errors, respond
from app.modules.service_requests.models import (
    AWAITING_REVIEW,
    CLOSED,
    KEY,
    LISTS,
    OPEN,
    OPEN311,
    PUBLIC,
    ServiceApiClient,
    ServiceCategory,
    ServiceRequest,
    request_id_of,
)
from app.modules.service_requests.workflow import submit
from app.web.forms import is_supported_day
from app.web.links import external_url
from tenants.context import current_tenant
from tenants.db import db

bp = Blueprint("open311", __name__, url_prefix="/open311")
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMAT = "<any(json, xml):fmt>"
MAX_RESULTS = 1000  # the specification's default query limit
MAX_SPAN = timedelta(days=90)
DESCRIPTION_LENGTH = 4000
MAX_IDS = 100  # service_request_id=a,b,c …
_LANGUAGE_TAGS = {"zh": "zh_Hans", "en": "en"}


class ApiError(Exception):
    """An error the client gets in the specification's format: `status` 400, 403 or 404."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__("; ".join(descriptions))
        self.status, self.descriptions = status, list(descriptions)


def _format_of_path() -> str:
    return "json" if request.path.endswith(".json") else "xml"  # XML: the required format


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    db.session.rollback()
    return errors(_format_of_path(), error.status, error.descriptions)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Every other refusal (unknown path, module not enabled, too many calls, maintenance …)
    in the specification's format too."""
    db.session.rollback()
    # str(): a description may be lazy (translated when shown), which JSON can't hold.
    response = errors(_format_of_path(), error.code or 400, [str(error.description or error.name)])
    if error.code == 429:
        response.headers["Retry-After"] = "60"
    return response


# -- each call: its throttle, its language, the jurisdiction ---------------------------------

def _caller() -> str:
    """Throttling counts per city and api_key (a valid one), else per client address: made-up
    keys don't get a count of their own."""
    client = _api_client()
    who = f"key:{client.id}" if client else f"address:{request.remote_addr}"
    return f"{current_tenant().slug}:open311:{who}"


def _per_minute() -> str:
    return f"{settings_of(KEY)['api_requests_per_minute']} per minute"


def _api_client() -> ServiceApiClient | None:
    if "open311_client" not in g:
        g.open311_client = client_of(request.form.get("api_key") or request.args.get("api_key"))
    return g.open311_client


def _client_language() -> str:
    """The language of names and notices: the client's Accept-Language among the city's
    languages, else the city's own."""
    offered = offered_languages()
    best = request.accept_languages.best_match(
        [tag for tag, code in _LANGUAGE_TAGS.items() if code in offered])
    return _LANGUAGE_TAGS[best] if best else current_tenant().locale


def _check_jurisdiction() -> None:
    given = (request.values.get("jurisdiction_id") or "").strip().lower()
    tenant = current_tenant()
    if given and given not in {*tenant.domains, tenant.slug}:
        raise ApiError(404, _("jurisdiction_id %(given)s was not found: this endpoint serves "
                              "%(city)s only (jurisdiction_id %(domain)s).", given=given[:100],
                              city=tenant.display_name(get_locale()), domain=tenant.domains[0]))


def api_view(view):
    """An Open311 call: throttled, in the client's language, for this jurisdiction only."""
    @limiter.limit(_per_minute, key_func=_caller)
    @wraps(view)
    def call(*args, **kwargs):
        with force_locale(_client_language()):
            _check_jurisdiction()
            return view(*args, **kwargs)
    return call


# -- representations -------------------------------------------------------------------------

def _moment(value: datetime | None) -> str | None:
    """ISO 8601 with the city's offset, as the specification asks (w3 format)."""
    if value is None:
        return None
    return value.astimezone(city_zone()).isoformat(timespec="seconds")


def _service_notice(category: ServiceCategory) -> str:
    return _("The city aims to deal with it within %(days)d days.", days=category.days_to_close)


def _service_type() -> str:
    return "batch" if settings_of(KEY)["review_api_reports"] else "realtime"


def _service(category: ServiceCategory, locale) -> dict:
    return {"service_code": category.code, "service_name": category.name_for(locale),
            "description": category.description_for(locale) or None,
            "metadata": bool(category.attributes), "type": _service_type(),
            "keywords": category.keywords or None,
            "group": category.group_name_for(locale) or None}


def _definition(category: ServiceCategory, locale) -> dict:
    attributes = []
    for order, attribute in enumerate(category.attributes, start=1):
        entry = {"variable": attribute.variable, "code": attribute.code,
                 "datatype": attribute.datatype, "required": attribute.required,
                 "datatype_description": attribute.hint_for(locale) or None, "order": order,
                 "description": attribute.description_for(locale)}
        if attribute.datatype in LISTS:
            entry["values"] = [{"key": key, "name": name}
                               for key, name in attribute.option_names(locale).items()]
        attributes.append(entry)
    return {"service_code": category.code, "attributes": attributes}


def _media_url(service_request: ServiceRequest) -> str | None:
    photos = service_request.public_photos
    if photos:
        return external_url("service_requests.photo", stored_name=photos[0].stored_name)
    return service_request.media_url or None


def _request(service_request: ServiceRequest, locale) -> dict:
    category, department = service_request.category, service_request.department
    closed = service_request.status == CLOSED
    return {
        "service_request_id": service_request.tracking_number,
        "status": "closed" if closed else "open",
        "status_notes": service_request.status_notes or None,
        "service_name": category.name_for(locale),
        "service_code": category.code,
        "description": service_request.description or None,
        "agency_responsible": department.name_for(locale) if department else None,
        "service_notice": _service_notice(category),
        "requested_datetime": _moment(service_request.created_at),
        "updated_datetime": _moment(service_request.closed_at if closed
                                    else service_request.updated_at),
        "expected_datetime": _moment(service_request.due_at),
        "address": service_request.address or None,
        "address_id": service_request.address_id or None,
        "zipcode": None,
        "lat": service_request.latitude,
        "long": service_request.longitude,
        "media_url": _media_url(service_request),
    }


# -- the calls -------------------------------------------------------------------------------

@bp.get(f"/discovery.{FORMAT}")
@api_view
def discovery(fmt):
    changed = db.session.scalar(sa.select(sa.func.max(ServiceCategory.updated_at)))
    changeset = _moment(changed) or "1970-01-01T00:00:00Z"
    tenant = current_tenant()
    return respond("discovery", {
        "changeset": changeset,
        "contact": _("%(city)s: see the contact details on %(site)s",
                     city=tenant.display_name(get_locale()),
                     site=external_url("citizen.home")),
        "key_service": _("Ask the city's administration for an api_key: it is issued in its "
                         "administration console."),
        "endpoints": [{"specification": SPECIFICATION,
                       "url": external_url("open311.services", fmt="xml").rsplit("/", 1)[0],
                       "changeset": changeset, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }, fmt)


def _categories():
    return sa.select(ServiceCategory).where(ServiceCategory.active).order_by(ServiceCategory.id)


@bp.get(f"/v2/services.{FORMAT}")
@api_view
def services(fmt):
    locale = get_locale()
    return respond("services", [_service(category, locale)
                                for category in db.session.scalars(_categories())], fmt)


def _category(code: str | None) -> ServiceCategory:
    if not code:
        raise ApiError(400, _("service_code was not provided."))
    category = db.session.scalar(_categories().where(ServiceCategory.code == code))
    if category is None:
        raise ApiError(404, _("service_code %(code)s was not found.", code=code[:40]))
    return category


@bp.get(f"/v2/services/<code>.{FORMAT}")
@api_view
def service_definition(code, fmt):
    return respond("service_definition", _definition(_category(code), get_locale()), fmt)


def _moment_argument(name: str) -> datetime | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not is_supported_day(moment.date()):
        raise ApiError(400, _("%(name)s must be a date and time in the w3 format with its time "
                              "zone, such as 2010-01-01T00:00:00Z.", name=name))
    return moment


def _list_argument(name: str) -> list[str]:
    return [part.strip() for part in (request.args.get(name) or "").split(",") if part.strip()]


def _requests_query() -> sa.Select:
    """GET requests' filters. service_request_id overrides all the others; the dates span at
    most 90 days, the last 90 days when not given."""
    query = sa.select(ServiceRequest).where(ServiceRequest.status.in_(PUBLIC))
    ids = _list_argument("service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise ApiError(400, _("Ask for at most %(count)d service_request_id at once.",
                                  count=MAX_IDS))
        return query.where(ServiceRequest.id.in_(
            [request_id for request_id in map(request_id_of, ids) if request_id is not None]))
    start, end = _moment_argument("start_date"), _moment_argument("end_date")
    if start is None and end is None:
        end = datetime.now(UTC)
    if start is None:
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start:
        raise ApiError(400, _("end_date must not be before start_date."))
    if end - start > MAX_SPAN:
        raise ApiError(400, _("start_date and end_date may not span more than 90 days."))
    query = query.where(ServiceRequest.created_at >= start, ServiceRequest.created_at <= end)
    statuses = _list_argument("status")
    if any(status not in ("open", "closed") for status in statuses):
        raise ApiError(400, _("status must be open or closed (or both, comma delimited)."))
    if statuses and set(statuses) != {"open", "closed"}:
        query = query.where(ServiceRequest.status.in_(OPEN) if "open" in statuses
                            else ServiceRequest.status == CLOSED)
    codes = _list_argument("service_code")
    if codes:
        query = query.join(ServiceCategory).where(ServiceCategory.code.in_(codes))
    return query


@bp.get(f"/v2/requests.{FORMAT}")
@api_view
def requests_list(fmt):
    locale = get_locale()
    found = db.session.scalars(_requests_query().order_by(
        ServiceRequest.created_at.desc(), ServiceRequest.id.desc()).limit(MAX_RESULTS))
    return respond("service_requests", [_request(found_request, locale)
                                        for found_request in found], fmt)


@bp.get(f"/v2/requests/<service_request_id>.{FORMAT}")
@api_view
def request_detail(service_request_id, fmt):
    found = db.session.scalar(sa.select(ServiceRequest).where(
        ServiceRequest.id == request_id_of(service_request_id),
        ServiceRequest.status.in_(PUBLIC)))
    if found is None:
        raise ApiError(404, _("service_request_id %(id)s was not found.",
                              id=service_request_id[:40]))
    return respond("service_requests", [_request(found, get_locale())], fmt)


@bp.get(f"/v2/tokens/<token>.{FORMAT}")
@api_view
def token_detail(token, fmt):
    found = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.token == token))
    if found is None or found.status not in (AWAITING_REVIEW, *PUBLIC):
        raise ApiError(404, _("token %(token)s was not found.", token=token[:40]))
    entry = {"token": found.token}
    if found.tracking_number:  # until the city accepts the report, it has no id
        entry = {"service_request_id": found.tracking_number, **entry}
    return respond("service_requests", [entry], fmt)


@bp.post(f"/v2/requests.{FORMAT}")
@csrf.exempt  # the api_key is the credential; no cookie is read
@api_view
def create_request(fmt):
    client = _api_client()
    if client is None:
        raise ApiError(403, _("Invalid api_key received: can't proceed with create_request."))
    category = _category((request.form.get("service_code") or "").strip())
    form = {name: clean_text(request.form.get(name, "")) for name in (
        "address_string", "address_id", "email", "device_id", "account_id", "first_name",
        "last_name", "phone", "description", "media_url")}
    problems = []
    latitude, longitude = _coordinates(problems)
    if latitude is None and not form["address_string"] and not form["address_id"]:
        problems.append(_("A location must be given: lat and long, address_string or "
                          "address_id."))
    problems += _field_problems(form)
    try:
        answers = read_answers(category, _attributes())
    except AnswersRefused as refused:
        answers = {}
        problems += [f"attribute[{code}]: {message}" for code, message in
                     refused.errors.items()]
    if problems:
        raise ApiError(400, *problems)
    client.last_used_at = datetime.now(UTC)
    review = settings_of(KEY)["review_api_reports"]
    name = " ".join(filter(None, (form["first_name"], form["last_name"])))
    created = submit(
        category, locale=str(get_locale()), source=OPEN311, api_client=client, review=review,
        description=form["description"], address=form["address_string"],
        address_id=form["address_id"], latitude=latitude, longitude=longitude,
        answers=answers, contact_email=form["email"], contact_name=name[:100],
        contact_phone=form["phone"], device_id=form["device_id"],
        account_id=form["account_id"], media_url=form["media_url"])
    db.session.commit()
    identity = ({"token": created.token} if review
                else {"service_request_id": created.tracking_number})
    return respond("service_requests", [{**identity,
                                         "service_notice": _service_notice(category),
                                         "account_id": created.account_id or None}], fmt)


def _coordinates(problems: list[str]) -> tuple[Decimal | None, Decimal | None]:
    given = [(request.form.get(name) or "").strip() for name in ("lat", "long")]
    if not any(given):
        return None, None
    if not all(given):
        problems.append(_("lat and long must both be sent."))
        return None, None
    try:
        latitude, longitude = (Decimal(value) for value in given)
    except InvalidOperation:
        latitude = longitude = None
    if latitude is None or not (latitude.is_finite() and longitude.is_finite()
                                and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        problems.append(_("lat and long must be WGS84 degrees: lat from -90 to 90, long from "
                          "-180 to 180."))
        return None, None
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


LIMITS = {"address_string": 300, "address_id": 100, "email": 254, "device_id": 100,
          "account_id": 100, "first_name": 50, "last_name": 50, "phone": 30,
          "description": DESCRIPTION_LENGTH, "media_url": 500}


def _field_problems(form: dict) -> list[str]:
    problems = [_("%(name)s may have at most %(count)d characters.", name=name, count=limit)
                for name, limit in LIMITS.items() if len(form[name]) > limit]
    if form["email"] and not problems:
        try:
            form["email"] = validate_email(form["email"],
                                           check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            problems.append(_("email is not a valid email address."))
    if form["media_url"] and not form["media_url"].startswith(("https://", "http://")):
        problems.append(_("media_url must be an http or https URL."))
    return problems


def _attributes() -> dict[str, list[str]]:
    """attribute[code]=value and attribute[code][]=value … as {code: [values]}."""
    given: dict[str, list[str]] = {}
    for name in request.form:
        if name.startswith("attribute[") and name.endswith("]"):
            code = name[len("attribute["):].removesuffix("[]").removesuffix("]")
            given.setdefault(code, []).extend(clean_text(value)
                                              for value in request.form.getlist(name))
    return given


@bp.route("/<path:anything>", methods=["GET", "POST"])
@csrf.exempt  # an app's POST to a wrong path learns that, not that a CSRF token is missing
@api_view
def not_found(anything):
    raise ApiError(404, _("There is no Open311 resource at this address: see %(url)s.",
                          url=external_url("open311.discovery", fmt="xml")))
