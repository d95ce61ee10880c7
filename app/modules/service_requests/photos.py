"""Photos of service requests: up to three a report, JPEG or PNG recognised by their content
(app.images checks the header and size first), decoded and re-encoded with Pillow so that
nothing but pixels is kept — no EXIF (so no GPS position, camera or owner), no text chunks —
turned upright first by the EXIF orientation they carried. The reporter may ask for the
photo's GPS position to be used as the report's coordinates (read before it is dropped).
Files are stored under the city's uploads folder (area "service_requests") with random names.
"""
import io
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from flask import abort, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from app.images import ImageRefused, read_image
from app.modules.service_requests.models import KEY, ServiceRequest, ServiceRequestPhoto
from tenants.context import current_tenant
from tenants.uploads import upload_dir, write_upload

MAX_PHOTOS = 3
PHOTO_MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decoding more would take too much memory (a "decompression bomb")
JPEG_QUALITY = 88
# What reading a broken or hostile image file raises.
DAMAGED = (ImageRefused, UnidentifiedImageError, Image.DecompressionBombError, OSError,
           SyntaxError, ValueError, EOFError)
GPS_IFD, GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = (
    0x8825, 1, 2, 3, 4)


class PhotoRefused(ValueError):
    """The photo was refused; the message (in the page's language) says why, `status` is the
    HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # re-encoded, without metadata
    content_type: str
    extension: str
    width: int
    height: int
    position: tuple[Decimal, Decimal] | None  # (latitude, longitude) the camera recorded


def read_photo(data: bytes) -> CleanPhoto:
    """The photo re-encoded without metadata, or PhotoRefused."""
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoRefused(_("A photo is too large: the limit is %(limit)s.",
                             limit=f"{PHOTO_MAX_BYTES // 1024 // 1024} MB"), 413)
    if not data:
        raise PhotoRefused(_("A photo file is empty."))
    if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise PhotoRefused(_("Photos must be JPEG or PNG images."))
    try:
        checked = read_image(data, "photo", max_bytes=PHOTO_MAX_BYTES)
        image = Image.open(io.BytesIO(checked.data))
    except DAMAGED:
        raise PhotoRefused(_("A photo file is damaged.")) from None
    if image.width * image.height > MAX_PIXELS:
        raise PhotoRefused(_("A photo has too many pixels: send a smaller one."))
    try:
        image.load()
        position = _gps_position(image)
        upright = ImageOps.exif_transpose(image)
    except DAMAGED:
        raise PhotoRefused(_("A photo file is damaged.")) from None
    if upright.mode == "P":  # its transparency is kept in info, which goes
        upright = upright.convert("RGBA")
    upright.info = {}  # EXIF, XMP, ICC profile, comments, text chunks: none is written
    output = io.BytesIO()
    if checked.content_type == "image/jpeg":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(output, "JPEG", quality=JPEG_QUALITY)
    else:
        upright.save(output, "PNG", optimize=True)
    return CleanPhoto(output.getvalue(), checked.content_type, checked.extension,
                      upright.width, upright.height, position)


def _gps_position(image: Image.Image) -> tuple[Decimal, Decimal] | None:
    """The GPS latitude and longitude of the photo's EXIF, if it has a usable one."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        latitude = _degrees(gps[GPS_LATITUDE], gps.get(GPS_LATITUDE_REF), "S")
        longitude = _degrees(gps[GPS_LONGITUDE], gps.get(GPS_LONGITUDE_REF), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def _degrees(parts, reference, negative: str) -> Decimal:
    degrees, minutes, seconds = (Decimal(str(float(part))) for part in parts)
    value = degrees + minutes / 60 + seconds / 3600
    if str(reference or "").strip().upper() == negative:
        value = -value
    return value.quantize(Decimal("0.000001"))


def folder() -> Path:
    return upload_dir(current_tenant().slug, KEY)


def add_photo(request: ServiceRequest, photo: CleanPhoto) -> Path:
    """Write the file and add its row to the session; returns the file's path, for the caller
    to remove if its transaction doesn't commit."""
    stored_name = f"{secrets.token_urlsafe(24)}.{photo.extension}"
    path = folder() / stored_name
    write_upload(path, photo.data)
    request.photos.append(ServiceRequestPhoto(
        stored_name=stored_name, content_type=photo.content_type, size=len(photo.data),
        width=photo.width, height=photo.height))
    return path


def send_photo(photo: ServiceRequestPhoto, public: bool):
    """The photo's file: never sniffed into another type, never able to run anything; the
    public copy may be cached a few minutes, the staff's view of it not at all."""
    path = folder() / photo.stored_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=photo.content_type, max_age=300 if public else 0,
                         conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if not public:
        response.cache_control.private = True
        response.cache_control.no_store = True
    return response
