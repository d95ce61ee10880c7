"""Shared pieces of the service request tests: a city offering the module with two categories
(one with a question of each Open311 datatype) and a department, an Open311 client and its
key, photos with and without a GPS position, and the report form as a browser posts it."""
import io
from decimal import Decimal

import sqlalchemy as sa
from PIL import Image

from app.accounts.models import User
from app.modules.service_requests import api_keys
from app.modules.service_requests.models import (
    ServiceAttribute,
    ServiceCategory,
    ServiceDepartment,
    ServiceRequest,
    request_id_of,
)
from app.notifications.models import Notification
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.cities import configure_city, host

OPTIONS = [{"key": "small", "name": "Small", "name_zh": "小"},
           {"key": "large", "name": "Large", "name_zh": "大"}]
QUESTIONS = [
    dict(code="size", datatype="singlevaluelist", required=True, position=1,
         description="How large is it?", description_zh="有多大？", options=OPTIONS),
    dict(code="lane", datatype="string", position=2, description="Which lane?",
         description_zh="哪条车道？", hint="Such as left lane", hint_zh="例如左车道"),
    dict(code="depth_cm", datatype="number", position=3, description="How deep, in cm?",
         description_zh="深度（厘米）？"),
    dict(code="seen_at", datatype="datetime", position=4, description="When did you see it?",
         description_zh="何时看到？"),
    dict(code="details", datatype="text", position=5, description="Anything else?",
         description_zh="其他情况？"),
    dict(code="hazards", datatype="multivaluelist", position=6, description="What hazards?",
         description_zh="有何危险？",
         options=[{"key": "water", "name": "Water", "name_zh": "积水"},
                  {"key": "cyclists", "name": "Cyclists fall", "name_zh": "骑车人摔倒"}]),
    dict(code="note", datatype="string", variable=False, position=7,
         description="Call 110 if someone is hurt.", description_zh="如有人受伤请拨打110。"),
]


def enable_service_requests(app, tenant, **settings) -> dict:
    """The module enabled with `settings`, a department, the categories pothole (with
    QUESTIONS, 5 days) and graffiti (none, 10 days); returns their ids."""
    configure_city(app, tenant, enable=["service_requests"],
                   values={"service_requests": settings} if settings else None)
    with tenant_context(tenant, app):
        roads = ServiceDepartment(name="Roads office", name_zh="道路养护所")
        cleaning = ServiceDepartment(name="Cleaning office", name_zh="环卫所")
        pothole = ServiceCategory(
            code="pothole", name="Pothole", name_zh="道路坑洼", description="Holes in roads",
            description_zh="路面坑洼", days_to_close=5, department=roads, group_name="streets",
            keywords="road, hole", attributes=[ServiceAttribute(**q) for q in QUESTIONS])
        graffiti = ServiceCategory(code="graffiti", name="Graffiti", name_zh="乱涂乱画",
                                   days_to_close=10, department=cleaning)
        db.session.add_all([pothole, graffiti])
        db.session.commit()
        return {"pothole": pothole.id, "graffiti": graffiti.id, "roads": roads.id,
                "cleaning": cleaning.id}


def issue_key(app, tenant, name="Hotline app") -> str:
    with tenant_context(tenant, app):
        actor = db.session.scalar(sa.select(User).limit(1)) or _robot()
        _client, api_key = api_keys.issue(name, actor)
        db.session.commit()
        return api_key


def _robot() -> User:
    user = User(email="key-issuer@example.com")
    db.session.add(user)
    db.session.flush()
    return user


def photo(fmt="JPEG", size=(40, 30), position=None, orientation=None, color=(200, 30, 30)):
    """An image file; `position` (latitude, longitude) is written in its EXIF GPS data."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # the camera's make: metadata that must not survive
    if orientation:
        exif[0x0112] = orientation
    if position:
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N" if position[0] >= 0 else "S", 2: _dms(abs(position[0])),
                    3: "E" if position[1] >= 0 else "W", 4: _dms(abs(position[1]))})
    output = io.BytesIO()
    image.save(output, fmt, exif=exif.tobytes())
    return output.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


GOOD_ANSWERS = {"attribute[size]": "large", "attribute[lane]": "left lane"}


def report(client, tenant, code="pothole", photos=(), **data):
    """The report form of `code` as a browser posts it (multipart, with its CSRF token)."""
    path = f"/services/service-requests/report/{code}"
    page = client.get(path, headers=host(tenant))
    fields = {"csrf_token": form_token(page), "description": "A deep hole", "address":
              "1 Renmin Street", **(GOOD_ANSWERS if code == "pothole" else {}), **data}
    fields = {name: value for name, value in fields.items() if value is not None}
    if photos:
        fields["photos"] = [(io.BytesIO(data), f"photo{n}.jpg") for n, data in enumerate(photos)]
    return client.post(path, headers=host(tenant), data=fields,
                       content_type="multipart/form-data")


def tracking_number_of(response) -> str:
    """The tracking number a successful report redirects to."""
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def stored(app, tenant, tracking_number) -> ServiceRequest:
    with tenant_context(tenant, app):
        found = db.session.get(ServiceRequest, request_id_of(tracking_number))
        found.events, found.photos, found.category  # noqa: B018  (loaded before it closes)
        db.session.expunge_all()
        return found


def coordinates(found) -> tuple[Decimal, Decimal] | None:
    return (found.latitude, found.longitude) if found.latitude is not None else None


def notifications(app, tenant) -> list[Notification]:
    """The city's outbox, oldest first."""
    with tenant_context(tenant, app):
        found = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
        db.session.expunge_all()
        return found
