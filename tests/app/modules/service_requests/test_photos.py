"""Photos of reports: at most three, JPEG or PNG by content and size, re-encoded so that no
metadata (EXIF: GPS position, camera) reaches anyone, stored per city with random names; the
photo's GPS position becomes the report's coordinates only when the reporter asks."""
import io
import struct
import zlib
from decimal import Decimal

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.app.modules.service_requests.service_requests_support import (
    coordinates,
    enable_service_requests,
    photo,
    report,
    stored,
    tracking_number_of,
)
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import host, post_form
from tests.support.images import png

pytestmark = pytest.mark.usefixtures("uploads")
LISHUI = (28.4517, 119.9229)


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("photos", locale="en")
    enable_service_requests(app, tenant)
    return tenant


@pytest.fixture()
def citizen(app, client, town):
    return signed_in_citizen(app, client, town, "photographer@example.com")


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels (a decompression bomb's)."""
    data = bytearray(png())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def public_photo(client, town, number) -> bytes:
    page = client.get(f"/services/service-requests/requests/{number}", headers=host(town))
    path = page.get_data(as_text=True).split('src="')[1].split('"')[0]
    response = client.get(path, headers=host(town))
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return response.data


def test_what_the_public_sees_has_no_metadata_and_stands_upright(app, client, town, citizen,
                                                                 uploads):
    original = photo(size=(40, 30), position=LISHUI, orientation=6)
    assert b"PhoneMaker" in original and Image.open(io.BytesIO(original)).getexif()
    number = tracking_number_of(report(client, town, photos=[original]))
    served = public_photo(client, town, number)
    image = Image.open(io.BytesIO(served))
    assert image.format == "JPEG" and not image.getexif() and b"Exif" not in served
    assert b"PhoneMaker" not in served and "exif" not in image.info
    assert image.size == (30, 40)  # turned as the camera's orientation said, before it went
    (stored_file,) = (uploads / town.slug / "service_requests").iterdir()
    assert stored_file.read_bytes() == served  # nothing with metadata is kept at all
    assert len(stored_file.stem) >= 30 and "photo" not in stored_file.name
    assert coordinates(stored(app, town, number)) is None  # not asked to use the position


def test_the_photo_position_is_used_only_when_asked(app, client, town, citizen):
    number = tracking_number_of(report(client, town, use_photo_location="y",
                                       photos=[photo(), photo(position=LISHUI)]))
    assert coordinates(stored(app, town, number)) == (Decimal("28.451700"),
                                                      Decimal("119.922900"))
    typed = tracking_number_of(report(client, town, use_photo_location="y", latitude="30.1",
                                      longitude="120.2", photos=[photo(position=LISHUI)]))
    assert coordinates(stored(app, town, typed)) == (Decimal("30.100000"),
                                                     Decimal("120.200000"))
    southwest = tracking_number_of(report(client, town, use_photo_location="y",
                                          photos=[photo(position=(-33.8688, -151.2093))]))
    assert coordinates(stored(app, town, southwest)) == (Decimal("-33.868800"),
                                                         Decimal("-151.209300"))
    none = report(client, town, use_photo_location="y", photos=[photo()])
    assert coordinates(stored(app, town, tracking_number_of(none))) is None


def test_png_text_chunks_are_dropped_too(app, client, town, citizen):
    image = Image.new("RGBA", (20, 10), (0, 80, 0, 128))
    info = PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    data = io.BytesIO()
    image.save(data, "PNG", pnginfo=info, exif=Image.Exif().tobytes())
    number = tracking_number_of(report(client, town, photos=[data.getvalue()]))
    served = public_photo(client, town, number)
    assert b"Secret Lane" not in served and Image.open(io.BytesIO(served)).format == "PNG"


@pytest.mark.parametrize(("photos", "status", "message"), [
    ([photo()] * 4, 422, "Send at most 3 photos."),
    ([b"GIF89a\x01\x00\x01\x00"], 422, "Photos must be JPEG or PNG images."),
    ([b"<svg xmlns='http://www.w3.org/2000/svg'/>"], 422, "Photos must be JPEG or PNG images."),
    ([b"\x89PNG\r\n\x1a\nnot really"], 422, "A photo file is damaged."),
    ([photo()[:200]], 422, "A photo file is damaged."),
    ([png_claiming(9000, 9000)], 422, "A photo has too many pixels"),
    ([photo() + b"\0" * (5 * 1024 * 1024)], 413, "A photo is too large"),
])
def test_wrong_photos_are_refused_and_nothing_is_kept(app, client, town, citizen, uploads,
                                                      photos, status, message):
    response = report(client, town, photos=photos)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    folder = uploads / town.slug / "service_requests"
    assert not folder.exists() or not any(folder.iterdir())


def test_staff_can_hide_a_photo_from_the_public(app, client, town, citizen):
    number = tracking_number_of(report(client, town, photos=[photo()]))
    found = stored(app, town, number)
    staff = app.test_client()
    signed_in_staff(app, staff, town, "photo-clerk@example.com", role="clerk",
                    modules=["service_requests"])
    path = f"/admin/service-requests/{found.id}/photos/{found.photos[0].id}"
    assert staff.get(path, headers=host(town)).headers["Cache-Control"].count("no-store")
    public_path = f"/services/service-requests/photos/{found.photos[0].stored_name}"
    assert client.get(public_path, headers=host(town)).status_code == 200
    hidden = post_form(staff, town, f"{path}/hide", {},
                       page=f"/admin/service-requests/{found.id}")
    assert hidden.status_code == 303
    assert client.get(public_path, headers=host(town)).status_code == 404
    assert staff.get(path, headers=host(town)).status_code == 200  # staff still see it
    page = client.get(f"/services/service-requests/requests/{number}", headers=host(town))
    assert found.photos[0].stored_name not in page.get_data(as_text=True)
