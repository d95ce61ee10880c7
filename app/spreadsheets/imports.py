"""Loading records from another system's CSV export — the police's traffic fines, the utility
company's accounts and bills: one piece of code serves every module that does it.

1. Staff upload a file. It is kept as a pending `CsvImport` under an unguessable token.
2. `check()` decodes it (UTF-8, with or without a byte order mark, else GB18030 — what Chinese
   systems export), matches the header to the columns by their English or Chinese names, parses
   every row, and compares each record with what is stored: a new record is to be loaded, an
   identical one is skipped and counted, a different one under the same key is a conflict.
   A text the city shows in both languages (a fine's offence) is a pair of columns made by
   `bilingual_columns`: one of the two is enough, and a file with only one of them (as files
   had before the pair) puts each text where its characters say (`is_chinese`).
3. The preview page shows that report. Only a file without a single wrong row can be loaded:
   the choice is "load the whole file" or "load nothing" (a file with problems can only be
   discarded and corrected); half a file is never loaded.
4. `commit()` checks it all again under a lock and inserts the new records, marks the file
   loaded and writes the audit entry, in one transaction.

A module describes its file with an `ImportSpec` and gets the pages with `add_import_routes`.
"""
import codecs
import csv
import hashlib
import io
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy.orm import Mapped, mapped_column

from app.audit import actor_of, record
from app.city_time import city_zone
from app.money import fen_of
from app.web.forms import (
    INVALID_FORM,
    form_status,
    is_supported_day,
    unsupported_day_message,
)
from tenants.context import current_tenant
from tenants.db import db

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
PREVIEW_VALID_FOR = timedelta(hours=24)
MAX_FEN = 10_000_000_00  # an amount above ten million yuan is a garbled cell
PREVIEW_SAMPLE = 10  # new records whose texts the preview shows


class CsvImport(db.Model):
    """An uploaded file: pending until loaded (then kept, as the record of what was loaded)
    or discarded (then deleted)."""

    __tablename__ = "csv_imports"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now())
    loaded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    loaded: Mapped[int | None] = mapped_column(sa.Integer)
    skipped: Mapped[int | None] = mapped_column(sa.Integer)


# -- cells ------------------------------------------------------------------------------------

class CellError(ValueError):
    """A cell that can't be read; the message says what to fix."""


# Han characters (CJK unified ideographs, their extensions A to G and compatibility forms).
# The tenant migration that split the stored texts (b7e3f1a9c2d4) uses the same ranges.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def is_chinese(value: str) -> bool:
    """Whether a text of unknown language is the Chinese one: it has a Han character."""
    return _HAN.search(value) is not None


def text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise CellError(_("At most %(max)d characters.", max=max_length))
        return value
    return parse


def yuan_to_fen(value: str) -> int:
    """An amount in yuan with at most 2 decimals ("200", "200.5", "200.50", "¥1,200.00") as
    whole fen, exactly (Decimal, never float). Zero and negative amounts are refused."""
    fen = fen_of(value)
    if fen is None:
        raise CellError(_("Not an amount in yuan with at most 2 decimals, such as 200.00."))
    if fen <= 0 or fen > MAX_FEN:
        raise CellError(_("The amount must be more than 0 and at most 10,000,000 yuan."))
    return fen


def _digits_of_date(value: str) -> str:
    """2026-03-01, 2026/3/1, 2026.03.01 and 2026年3月1日 all read as 2026-3-1."""
    return re.sub(r"[年月/.]", "-", value.strip()).removesuffix("日")


def a_date(value: str) -> date:
    try:
        day = datetime.strptime(_digits_of_date(value), "%Y-%m-%d").date()
    except ValueError:
        raise CellError(_("Not a date such as 2026-03-01.")) from None
    if not is_supported_day(day):
        raise CellError(unsupported_day_message())
    return day


def a_city_time(value: str) -> datetime:
    """A time as the exporting system writes it, read in the city's time zone."""
    cleaned = re.sub(r"\s+", " ", _digits_of_date(value.replace("T", " ")).replace("日", " "))
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            local = datetime.strptime(cleaned.strip(), pattern)
        except ValueError:
            continue
        if not is_supported_day(local.date()):
            raise CellError(unsupported_day_message())
        return local.replace(tzinfo=city_zone())
    raise CellError(_("Not a time such as 2026-03-01 14:30."))


def plate(value: str) -> str:
    """A plate number as stored and compared: upper case, no spaces, dots or hyphens."""
    normalized = normalize_plate(value)
    if not re.fullmatch(r"[\w]{5,10}", normalized):
        raise CellError(_("Not a plate number such as 浙K12345."))
    return normalized


def without_separators(value: str) -> str:
    """A value as typed, NFKC (full-width letters read as ASCII) without spaces, dots or
    hyphens: the base of how plates and surnames are stored and compared."""
    return re.sub(r"[\s·•.\-]", "", unicodedata.normalize("NFKC", value))


def normalize_plate(value: str) -> str:
    return without_separators(value).upper()


def code(value: str) -> str:
    """A number given by the other system (ticket, account, bill): letters, digits, hyphens."""
    normalized = unicodedata.normalize("NFKC", value).strip().upper()
    if not re.fullmatch(r"[0-9A-Z][0-9A-Z\-]{0,39}", normalized):
        raise CellError(_("Use 1 to 40 letters, digits and hyphens."))
    return normalized


# -- files -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pair:
    """One text in two languages: two columns of the file, two attributes of the record
    (`<key>` in English, `<key>_zh` in Chinese). `required`: one of the two at least."""
    label: str  # lazy_gettext: "Offence"
    english: str
    chinese: str
    required: bool


@dataclass(frozen=True)
class Column:
    key: str  # the record's attribute
    label: str  # lazy_gettext: how the report and the upload page name it
    aliases: tuple[str, ...]  # header names it is known by, English and Chinese
    parse: Callable[[str], object]
    required: bool = True  # an empty cell is an error (else it reads as None)
    pair: Pair | None = None  # one language of a text given in both (bilingual_columns)

    @property
    def english_names(self) -> list[str]:
        return [name for name in (self.key, *self.aliases) if name.isascii()]

    @property
    def chinese_names(self) -> list[str]:
        return [name for name in self.aliases if not name.isascii()]

    @property
    def empty(self) -> str | None:
        """What a record holds without a value: a text of a pair is "" (its columns are not
        null, so the two compare and fall back alike), any other None."""
        return "" if self.pair else None


def bilingual_columns(key: str, label: str, english_names: tuple[str, ...],
                      chinese_names: tuple[str, ...], parse: Callable[[str], str],
                      required: bool = True) -> tuple[Column, Column]:
    """The two columns of a text the city shows in both languages, the Chinese first (as the
    console shows them): `<key>_zh` (known by `chinese_names`, "<key>_zh", "<name> (Chinese)"
    and "<中文名>（中文）") and `<key>` in English (by `english_names`, "<name> (English)" and
    "<中文名>（英文）")."""
    pair = Pair(label, key, f"{key}_zh", required)
    english, chinese = english_names[0], chinese_names[0]
    return (
        Column(pair.chinese, _l("%(column)s in Chinese", column=label),
               (*chinese_names, f"{english} (Chinese)", f"{chinese}（中文）"), parse,
               required=False, pair=pair),
        Column(key, _l("%(column)s in English", column=label),
               (*english_names, f"{english} (English)", f"{chinese}（英文）"), parse,
               required=False, pair=pair))


@dataclass(frozen=True)
class ImportSpec:
    kind: str  # names the files (CsvImport.kind) and the audit action "<kind>.import"
    title: str  # lazy_gettext: "Load traffic fines"
    model: type  # the records; their `key` attribute is unique
    key: str
    columns: tuple[Column, ...]
    # More checks of the parsed rows against the database (a bill's account must exist):
    # returns {row index: message}.
    check_rows: Callable[[list[dict]], dict[int, str]] | None = None


@dataclass
class Problem:
    line: int  # of the file, the header being line 1; 0 for the file as a whole
    message: str


@dataclass
class Report:
    rows: int = 0
    new: list[dict] = field(default_factory=list)
    identical: int = 0
    conflicts: int = 0
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _header_name(name: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", unicodedata.normalize("NFKC", name)).casefold()


def decode(data: bytes) -> str:
    """UTF-8 (a byte order mark is dropped), else GB18030 (which covers GBK and GB2312). A NUL
    byte is refused: no text export has one (UTF-16 has many), and the database takes none."""
    data = data.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in data:
        raise CellError(_("The file has NUL characters, so it is not a CSV text file (UTF-16 "
                          "has them). Export it as CSV in UTF-8 or GB18030."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise CellError(_("The file is not text in UTF-8 or GB18030. Export it as CSV "
                          "again.")) from None


def _match_header(spec: ImportSpec, header: list[str], report: Report) -> dict[int, Column]:
    by_name = {_header_name(alias): column for column in spec.columns
               for alias in (column.key, *column.aliases)}
    positions: dict[int, Column] = {}
    for position, name in enumerate(header):
        column = by_name.get(_header_name(name))
        if column is None:
            if name.strip():
                report.ignored_columns.append(name.strip())
        elif column in positions.values():
            report.problems.append(Problem(1, _("The column “%(column)s” appears twice.",
                                                column=column.label)))
        else:
            positions[position] = column
    found = set(positions.values())
    missing = [str(column.label) for column in spec.columns
               if column.required and column not in found]
    missing += [str(pair.label) for pair in _pairs(spec) if pair.required and not any(
        column.pair == pair for column in found)]
    if missing:
        report.problems.append(Problem(1, _("Columns missing: %(columns)s.",
                                            columns=", ".join(missing))))
    return positions


def _pairs(spec: ImportSpec) -> list[Pair]:
    return list(dict.fromkeys(column.pair for column in spec.columns if column.pair))


def _alone(positions: dict[int, Column]) -> set[Column]:
    """The columns of a pair whose other language the file lacks: their texts go by their
    characters (is_chinese), as those of files made before the pair did."""
    pairs = [column.pair for column in positions.values() if column.pair]
    return {column for column in positions.values()
            if column.pair and pairs.count(column.pair) == 1}


def _parse_row(spec: ImportSpec, cells: list[str], positions: dict[int, Column],
               alone: set[Column]) -> tuple[dict, list[str]]:
    values = {column.key: column.empty for column in spec.columns}
    reasons = []
    for position, column in positions.items():
        cell = cells[position].strip() if position < len(cells) else ""
        if not cell:
            if column.required:
                reasons.append(_("%(column)s: empty.", column=column.label))
            continue
        try:
            value = column.parse(cell)
        except CellError as error:
            reasons.append(f"{column.label}: {error}")
            continue
        if column in alone:
            values[column.pair.chinese if is_chinese(value) else column.pair.english] = value
        else:
            values[column.key] = value
    reasons += [_("%(column)s: empty; give it in Chinese or in English.", column=pair.label)
                for pair in _pairs(spec)
                if pair.required and not (values[pair.english] or values[pair.chinese])]
    return values, reasons


def _differences(spec: ImportSpec, stored, values: dict) -> list[str]:
    return [str(column.label) for column in spec.columns
            if getattr(stored, column.key) != values[column.key]]


def check(spec: ImportSpec, data: bytes) -> Report:
    """The report of a file: what loading it would do, and every problem that prevents it."""
    report = Report()
    try:
        content = decode(data)
    except CellError as error:
        report.problems.append(Problem(0, str(error)))
        return report
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(_rows(reader, report), None)
    if report.problems:
        return report
    if header is None:
        report.problems.append(Problem(0, _("The file is empty.")))
        return report
    positions = _match_header(spec, header, report)
    if report.problems:
        return report
    alone = _alone(positions)
    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for cells in _rows(reader, report):
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.problems.append(Problem(0, _("The file has more than %(max)d rows: split it.",
                                                max=MAX_ROWS)))
            return report
        values, reasons = _parse_row(spec, cells, positions, alone)
        if len(cells) > len(header):
            reasons.append(_("More cells than the header has columns."))
        key = values.get(spec.key)
        if key is not None and key in seen:
            reasons.append(_("The same %(column)s as line %(line)d.",
                             column=_key_label(spec), line=seen[key]))
        elif key is not None:
            seen[key] = line
        if reasons:
            report.problems.append(Problem(line, " ".join(reasons)))
        else:
            parsed.append((line, values))
    extra = spec.check_rows([values for _line, values in parsed]) if spec.check_rows else {}
    for index, message in sorted(extra.items()):
        report.problems.append(Problem(parsed[index][0], message))
    _compare_with_stored(spec, [pair for index, pair in enumerate(parsed) if index not in extra],
                         report)
    report.problems.sort(key=lambda problem: problem.line)
    return report


def _rows(reader, report: Report):
    """The reader's rows until one can't be read (a cell beyond the csv module's limit of
    128 KiB): that line is a problem of the report, and no row after it is read."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            report.problems.append(Problem(reader.line_num, _(
                "This line can't be read: a cell is far too long (over 100,000 characters).")))
            return


def _key_label(spec: ImportSpec) -> str:
    return next(str(column.label) for column in spec.columns if column.key == spec.key)


def _compare_with_stored(spec: ImportSpec, parsed: list[tuple[int, dict]], report: Report):
    key_column = getattr(spec.model, spec.key)
    stored = {}
    keys = [values[spec.key] for _line, values in parsed]
    for start in range(0, len(keys), 5000):
        stored.update((getattr(row, spec.key), row) for row in db.session.scalars(
            sa.select(spec.model).where(key_column.in_(keys[start:start + 5000]))))
    for line, values in parsed:
        existing = stored.get(values[spec.key])
        if existing is None:
            report.new.append(values)
            continue
        differences = _differences(spec, existing, values)
        if differences:
            report.conflicts += 1
            report.problems.append(Problem(line, _(
                "%(key)s is already loaded with other values (%(columns)s). Correct the file, "
                "or ask the city's administrator.", key=values[spec.key],
                columns=", ".join(differences))))
        else:
            report.identical += 1


# -- staging and loading -----------------------------------------------------------------------

class ImportClosed(Exception):
    """The file was loaded or discarded already, or its preview is too old."""


def stage(spec: ImportSpec, filename: str, data: bytes, uploaded_by: int | None) -> CsvImport:
    """The file kept as pending, uploaded by the account `uploaded_by` (None: a back office
    through the API)."""
    upload = CsvImport(kind=spec.kind, token=secrets.token_urlsafe(32),
                       filename=(filename or "")[:255], sha256=hashlib.sha256(data).hexdigest(),
                       content=data, uploaded_by=uploaded_by)
    db.session.add(upload)
    return upload


def staged_file(spec: ImportSpec, token: str, lock: bool = False) -> CsvImport:
    """The file of this token (pending or loaded); 404 for any other token."""
    query = sa.select(CsvImport).where(CsvImport.token == token, CsvImport.kind == spec.kind)
    upload = db.session.scalar(query.with_for_update() if lock else query)
    if upload is None:
        abort(404)
    return upload


def is_open(upload: CsvImport) -> bool:
    return upload.loaded_at is None and \
        upload.uploaded_at > datetime.now(UTC) - PREVIEW_VALID_FOR


def commit(spec: ImportSpec, upload: CsvImport, actor: str) -> Report:
    """Load the whole file in the current transaction, or nothing: returns the report, which
    is valid when the records were added (the caller commits). `actor` is who the audit log
    names."""
    if not is_open(upload):
        raise ImportClosed()
    # One load of this kind at a time in this city: two overlapping files can't both insert.
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                       {"name": f"civic:import:{current_tenant().slug}:{spec.kind}"})
    report = check(spec, upload.content)
    if not report.valid:
        return report
    if report.new:
        db.session.execute(sa.insert(spec.model), report.new)
    upload.loaded_at, upload.loaded, upload.skipped = (
        datetime.now(UTC), len(report.new), report.identical)
    record(actor, f"{spec.kind}.import", upload.filename, None,
           {"file": upload.filename, "sha256": upload.sha256, "rows": report.rows,
            "loaded": len(report.new), "identical": report.identical})
    return report


def load_at_once(spec: ImportSpec, filename: str, data: bytes, uploaded_by: int | None,
                 actor: str) -> tuple[CsvImport, Report]:
    """Stage and load a file in one go (the API: its caller sees the report in the answer
    instead of a preview), all or nothing in the current transaction: the caller commits
    when the report is valid, else rolls back and nothing is kept."""
    upload = stage(spec, filename, data, uploaded_by)
    db.session.flush()
    return upload, commit(spec, upload, actor)


# -- the pages ---------------------------------------------------------------------------------

class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose the CSV file to load.")),
        FileSize(MAX_BYTES, message=_l("The file is larger than 10 MB: split it."))],
        description=_l("Comma-separated, UTF-8 or GB18030, with a header row."))


def add_import_routes(bp, spec: ImportSpec, guard, prefix: str, back_endpoint: str) -> None:
    """Upload, preview, load and discard pages for `spec` on an admin blueprint, at
    <prefix>/import and <prefix>/imports/<token>, each wearing `guard`."""
    name = spec.kind
    template_context = {"spec": spec, "back_endpoint": back_endpoint, "sample": PREVIEW_SAMPLE,
                        "endpoints": {action: f".{name}_{action}" for action in
                                      ("upload", "preview", "load", "discard")}}

    @guard
    def upload():
        form = UploadForm()
        if not form.validate_on_submit():
            return render_template("admin/imports/upload.html", form=form, **template_context), (
                form_status(form))
        data = form.file.data.read()
        staged = stage(spec, form.file.data.filename, data, current_user.id)
        db.session.commit()
        return redirect(url_for(template_context["endpoints"]["preview"], token=staged.token))

    @guard
    def preview(token):
        staged = staged_file(spec, token)
        report = check(spec, staged.content) if is_open(staged) else None
        return render_template("admin/imports/preview.html", upload=staged, report=report,
                               **template_context)

    @guard
    def load(token):  # POST: CSRFProtect checks the token of every form
        staged = staged_file(spec, token, lock=True)
        try:
            report = commit(spec, staged, actor_of(current_user))
        except ImportClosed:
            db.session.rollback()
            flash(_("This file was loaded already, or its preview is too old: upload it again."),
                  "error")
            return redirect(url_for(template_context["endpoints"]["preview"], token=token))
        if not report.valid:
            db.session.rollback()
            return render_template("admin/imports/preview.html", upload=staged, report=report,
                                   **template_context), INVALID_FORM
        db.session.commit()
        flash(_("Loaded %(loaded)d records; %(identical)d were loaded before and are skipped.",
                loaded=len(report.new), identical=report.identical), "success")
        return redirect(url_for(back_endpoint))

    @guard
    def discard(token):
        staged = staged_file(spec, token, lock=True)
        if staged.loaded_at is None:
            db.session.delete(staged)
            db.session.commit()
            flash(_("The file is discarded: nothing was loaded."), "success")
        return redirect(url_for(back_endpoint))

    bp.add_url_rule(f"{prefix}/import", f"{name}_upload", upload, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/imports/<token>", f"{name}_preview", preview)
    bp.add_url_rule(f"{prefix}/imports/<token>/load", f"{name}_load", load, methods=["POST"])
    bp.add_url_rule(f"{prefix}/imports/<token>/discard", f"{name}_discard", discard,
                    methods=["POST"])
