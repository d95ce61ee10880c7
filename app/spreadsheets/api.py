"""Loading a CSV file through the REST API (docs/api.md): the back office POSTs the file as
`text/csv`; it is checked and loaded at once, all or nothing, by the same code as the
console's upload and "Load" (imports.py), with the same audit entry. The answer says what was
loaded, or is a problem document listing every wrong row (and nothing is kept)."""
from collections.abc import Callable

import marshmallow as ma
from flask import request
from flask_babel import gettext as _

from app.rest import ApiBlueprint, Problem
from app.spreadsheets.imports import MAX_BYTES, ImportSpec, load_at_once
from tenants.db import db

CSV = "text/csv"


class ImportResultSchema(ma.Schema):
    file = ma.fields.String(required=True, metadata={"description": "The name it is kept as"})
    sha256 = ma.fields.String(required=True)
    rows = ma.fields.Integer(required=True)
    loaded = ma.fields.Integer(required=True)
    identical = ma.fields.Integer(required=True, metadata={
        "description": "Rows loaded before, with the same values: skipped"})


def add_api_import_route(bp: ApiBlueprint, spec: ImportSpec, path: str, guard: Callable,
                         who: Callable[[], tuple[int | None, str]]) -> None:
    """A POST of `spec`'s file at `path` on `bp`, wearing `guard`; `who()` gives the
    uploading account (or None) and the actor the audit log names."""
    @guard
    def load_csv():
        if request.mimetype != CSV:
            raise Problem(415, _("Send the file as text/csv (Content-Type: text/csv)."))
        if (request.content_length or 0) > MAX_BYTES:
            raise Problem(413, _("The file is larger than 10 MB: split it."))
        uploaded_by, actor = who()
        upload, report = load_at_once(spec, f"{spec.kind}-api.csv",
                                      request.get_data(cache=False), uploaded_by, actor)
        if not report.valid:
            raise Problem(422, _("Nothing was loaded: correct the rows in `row_errors` (line 1 "
                                 "is the header; 0 is the file as a whole) and send the whole "
                                 "file again."), kind="import_refused", rows=report.rows,
                          row_errors=[{"line": problem.line, "message": problem.message}
                                      for problem in report.problems])
        db.session.commit()
        return {"file": upload.filename, "sha256": upload.sha256, "rows": report.rows,
                "loaded": len(report.new), "identical": report.identical}

    load_csv.__name__ = f"load_{spec.kind}"
    load_csv.__doc__ = f"Load a CSV file of {spec.kind.replace('_', ' ')}.\n\n{_API_DOC}"
    view = bp.response(201, ImportResultSchema)(load_csv)
    view = bp.doc(requestBody={"required": True, "content": {CSV: {"schema": {
        "type": "string", "description": "The CSV file, UTF-8 or GB18030, with a header row"}}}}
    )(view)
    bp.route(path, methods=["POST"], endpoint=f"load_{spec.kind}")(view)


_API_DOC = ("The whole file is loaded, or nothing (then a problem document lists each wrong "
            "row in `row_errors`). Rows loaded before with the same values are skipped.")
