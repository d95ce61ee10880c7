"""Every city's uploaded files (branding images, passport documents …) live in a folder of its
own, `instance/uploads/<slug>/<area>` (UPLOAD_DIR overrides `instance/uploads`): export and
import carry that folder, and deleting or purging the city removes it."""
import logging
import shutil
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def city_folder(slug: str) -> Path:
    root = current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads"
    return Path(root) / slug


def upload_dir(slug: str, area: str) -> Path:
    """The folder of one kind of upload ("branding", "passports" …) of the city `slug`."""
    return city_folder(slug) / area


def write_upload(path: Path, data: bytes) -> None:
    """Write an uploaded file whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(data)
    temporary.replace(path)


def remove_city_files(slug: str) -> None:
    """Remove a deleted city's folder, so a later city of the same slug starts with none. The
    database work is done by then: a failure is logged, not raised."""
    folder = city_folder(slug)
    try:
        if folder.is_dir():
            shutil.rmtree(folder)
    except OSError:
        log.exception("could not remove the uploads of the deleted city %s", slug)
