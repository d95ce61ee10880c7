"""The CSV files staff download (the audit log, payments, a module's records): UTF-8 with a BOM,
so spreadsheet programs read Chinese right, and cells a spreadsheet never runs as formulas."""
import csv
import io

from flask import Response


def spreadsheet_safe(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_download(filename: str, header, rows) -> Response:
    """A download of `rows` (sequences of cells, each made spreadsheet-safe) under `header`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
