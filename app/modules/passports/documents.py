"""The files of passport applications: the photo (JPEG or PNG) and supporting documents (JPEG,
PNG or PDF), recognised by their content, never by their name or stated type; size-limited;
stored under the city's uploads folder (tenants.uploads, area "passports") with
random names, and served only through the views that check who asks."""
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import abort, send_file
from flask_babel import gettext as _

from app.images import ImageRefused, read_image
from app.modules.passports.models import PHOTO, PassportApplication, PassportDocument
from tenants.context import current_tenant
from tenants.uploads import upload_dir, write_upload

PHOTO_MAX_BYTES = 2 * 1024 * 1024
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 20  # per application
AREA = "passports"
PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"


class UploadRefused(ValueError):
    """The file was refused; the message (in the city's language) says why, `status` is the
    HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str
    extension: str


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def max_bytes(kind: str) -> int:
    return PHOTO_MAX_BYTES if kind == PHOTO else DOCUMENT_MAX_BYTES


def read_upload(data: bytes, kind: str) -> Upload:
    """The file as an Upload if its content is an accepted type for `kind`, within the size
    limit; UploadRefused otherwise. (Read at most the limit and one byte: more is refused.)"""
    limit = max_bytes(kind)
    if len(data) > limit:
        raise UploadRefused(_("The file is too large: the limit is %(limit)s.",
                              limit=_megabytes(limit)), 413)
    if not data:
        raise UploadRefused(_("The file is empty."))
    if data.startswith(b"%PDF-") and kind != PHOTO:
        if b"%%EOF" not in data[-1024:]:
            raise UploadRefused(_("The PDF file is damaged or incomplete."))
        return Upload(data, PDF, "pdf")
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        try:  # the branding checks: the image's header and size must make sense
            image = read_image(data, max_bytes=limit)
        except ImageRefused:
            raise UploadRefused(_("The image file is damaged.")) from None
        return Upload(image.data, image.content_type, image.extension)
    if kind == PHOTO:
        raise UploadRefused(_("The photo must be a JPEG or PNG image."))
    raise UploadRefused(_("The document must be a PDF file or a JPEG or PNG image."))


def folder() -> Path:
    return upload_dir(current_tenant().slug, AREA)


def clean_name(name: str | None) -> str:
    """The name the citizen's file had, for display and download only (never a path)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable()).strip()[:200]


def add_document(application: PassportApplication, kind: str, upload: Upload,
                 original_name: str) -> Path:
    """Write the file and add its row to the session; returns the file's path, for the caller
    to remove if its transaction doesn't commit."""
    stored_name = f"{secrets.token_urlsafe(24)}.{upload.extension}"
    path = folder() / stored_name
    write_upload(path, upload.data)
    application.documents.append(PassportDocument(
        kind=kind, original_name=clean_name(original_name) or f"{kind}.{upload.extension}",
        stored_name=stored_name, content_type=upload.content_type, size=len(upload.data)))
    return path


def path_of(document: PassportDocument) -> Path:
    return folder() / document.stored_name


def send_document(document: PassportDocument):
    """The file, private to who may see it: never cached by others, never sniffed into
    another type, never able to run anything; images inline, PDFs as downloads."""
    path = path_of(document)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=document.content_type,
                         as_attachment=document.content_type == PDF,
                         download_name=document.original_name, max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
