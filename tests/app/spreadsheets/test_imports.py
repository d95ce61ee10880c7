"""The shared CSV import (app/modules/csv_import.py): encodings, header names in English or
Chinese, exact amounts, the validation report with line numbers and reasons, and the staff's
upload → preview → load-all-or-nothing flow (shown with the traffic fines' file)."""
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.modules.traffic_fines.admin import FINES_IMPORT
from app.modules.traffic_fines.models import TrafficFine
from app.spreadsheets.imports import (
    CellError,
    check,
    commit,
    decode,
    stage,
    staged_file,
    yuan_to_fen,
)
from tenants.context import tenant_context
from tenants.db import db
from tests.conftest import form_token
from tests.support.accounts import signed_in_staff
from tests.support.cities import audit_entries, configure_city, host

HEADER = "ticket number,plate number,offence,place,time,amount,due date\n"
GOOD_ROWS = ("3301001,浙K12345,Speeding,Huayuan Road,2026-03-01 14:30,200.00,2026-03-16\n"
             "3301002,浙K 54321,Red light,Liyang Street,2026/03/02 08:05,150.5,2026-03-17\n")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("csv", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["traffic_fines"])
    return tenant


@pytest.fixture()
def clerk(app, client, town):
    return signed_in_staff(app, client, town, "clerk@example.com", role="clerk",
                           modules=["traffic_fines"])


def report_of(app, town, text: str | bytes):
    with tenant_context(town, app), app.test_request_context(headers=host(town)):
        return check(FINES_IMPORT, text.encode() if isinstance(text, str) else text)


def upload(client, town, content: bytes, path="/admin/traffic-fines/import"):
    """Upload a file as staff do; returns the preview page's response."""
    token = form_token(client.get(path, headers=host(town)))
    response = client.post(path, headers=host(town), data={
        "csrf_token": token, "file": (io.BytesIO(content), "fines.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"], headers=host(town))


def load(client, town, preview):
    """Press "Load" on a preview page."""
    action = re.search(r'action="([^"]+/load)"', preview.get_data(as_text=True)).group(1)
    return client.post(action, headers=host(town), data={"csrf_token": form_token(preview)})


def fine_count(app, town) -> int:
    with tenant_context(town, app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(TrafficFine))


@pytest.mark.parametrize(("cell", "fen"), [
    ("200", 20000), ("200.5", 20050), ("0.10", 10), ("19.99", 1999), ("1,200.00", 120000),
    ("¥35.01", 3501), ("88元", 8800)])
def test_amounts_in_yuan_become_exact_fen(cell, fen):
    assert yuan_to_fen(cell) == fen


@pytest.mark.parametrize("cell", ["-5", "0", "0.00", "12.345", "1e3", "abc", "20O", "1.2.3"])
def test_garbled_negative_and_zero_amounts_are_refused(cell):
    with pytest.raises(CellError):
        yuan_to_fen(cell)


def test_utf8_with_a_byte_order_mark_and_gb18030_are_read(app):
    text = "决定书编号,号牌号码\n1,浙K12345\n"
    with app.test_request_context():
        assert decode(b"\xef\xbb\xbf" + text.encode()) == text
        assert decode(text.encode("gb18030")) == text
        assert decode(text.encode()) == text


def test_a_valid_file_with_chinese_headers_in_gb18030_is_reported_ready(app, town):
    content = ("违法时间,决定书编号,号牌号码,违法行为,违法地点,罚款金额,缴款期限,备注\n"
               "2026年3月1日 14:30,3301001,浙k·12345,超速,花园路,200.00,2026年3月16日,x\n")
    report = report_of(app, town, content.encode("gb18030"))
    assert report.valid and report.rows == 1 and report.ignored_columns == ["备注"]
    (row,) = report.new
    assert row["plate_number"] == "浙K12345" and row["amount_fen"] == 20000
    assert row["offence_zh"] == "超速" and row["offence"] == "" and row["occurred_at"].hour == 14


def test_the_report_names_each_wrong_row_by_line_and_reason(app, town):
    content = HEADER + GOOD_ROWS + (
        "3301003,浙K11111,Parking,Market,2026-02-30 10:00,100.00,2026-03-20\n"   # line 4
        "3301004,浙K22222,Parking,Market,2026-03-03 10:00,-100,2026-03-20\n"     # line 5
        "3301005,浙K33333,Parking,Market,2026-03-03 10:00,1OO.00,tomorrow\n"      # line 6
        "\n"
        "3301001,浙K44444,Parking,Market,2026-03-03 10:00,100.00,2026-03-20\n"   # line 8
        "3301006,,Parking,Market,2026-03-03 10:00,100.00,2026-03-20\n")          # line 9
    report = report_of(app, town, content)
    assert not report.valid and report.rows == 7
    problems = {problem.line: problem.message for problem in report.problems}
    assert sorted(problems) == [4, 5, 6, 8, 9]
    assert "Time" in problems[4] and "2026-03-01 14:30" in problems[4]
    assert "more than 0" in problems[5]
    assert "Amount" in problems[6] and "Due date" in problems[6]
    assert "same Ticket number as line 2" in problems[8]
    assert "Plate number: empty" in problems[9]


def test_missing_columns_are_named_and_no_row_is_read(app, town):
    report = report_of(app, town, "ticket number,plate number,amount\n1,浙K12345,100\n")
    (problem,) = report.problems
    assert problem.line == 1 and report.rows == 0
    for column in ("Offence", "Place", "Time", "Due date"):
        assert column in problem.message


def test_a_file_that_is_not_text_is_refused(app, town):
    report = report_of(app, town, b"\x81\x30\xff\xfe\x00binary")
    assert not report.valid and report.problems[0].line == 0


def test_a_valid_file_is_loaded_whole_with_an_audit_entry(app, client, town, clerk):
    preview = upload(client, town, (HEADER + GOOD_ROWS).encode())
    page = preview.get_data(as_text=True)
    assert "Every row is valid" in page and "Load 2 records" in page
    assert fine_count(app, town) == 0  # the preview loads nothing
    response = load(client, town, preview)
    assert response.status_code == 302
    assert fine_count(app, town) == 2
    (entry,) = audit_entries(app, town, "traffic_fines.import")
    assert entry.after["loaded"] == 2 and entry.after["file"] == "fines.csv"
    # Loading the same preview twice (a double click) loads nothing more.
    again = load(client, town, preview)
    assert again.status_code == 302 and fine_count(app, town) == 2
    assert len(audit_entries(app, town, "traffic_fines.import")) == 1


def test_a_file_with_one_wrong_row_loads_nothing(app, client, town, clerk):
    bad = HEADER + GOOD_ROWS + "3301003,浙K11111,Parking,Market,2026-03-03 10:00,abc,2026-03-20\n"
    preview = upload(client, town, bad.encode())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Nothing can be loaded" in page
    assert "Load 2 records" not in page and "<td>4</td>" in page
    action = re.search(r'action="([^"]+)/discard"', page).group(1)
    refused = client.post(action + "/load", headers=host(town),
                          data={"csrf_token": form_token(preview)})
    assert refused.status_code == 422 and fine_count(app, town) == 0
    assert audit_entries(app, town, "traffic_fines.import") == []


def test_reloading_skips_identical_rows_and_reports_changed_ones(app, client, town, clerk):
    load(client, town, upload(client, town, (HEADER + GOOD_ROWS).encode()))
    overlapping = HEADER + GOOD_ROWS + \
        "3301007,浙K77777,Parking,Market,2026-03-03 10:00,50,2026-03-20\n"
    preview = upload(client, town, overlapping.encode())
    assert "Load 1 record" in preview.get_data(as_text=True)
    load(client, town, preview)
    assert fine_count(app, town) == 3
    changed = HEADER + GOOD_ROWS.replace("200.00", "250.00")
    page = upload(client, town, changed.encode()).get_data(as_text=True)
    assert "3301001 is already loaded with other values (Amount (yuan))" in page
    assert "Nothing can be loaded" in page
    with tenant_context(town, app):
        amount = db.session.scalar(sa.select(TrafficFine.amount_fen).where(
            TrafficFine.ticket_number == "3301001"))
    assert amount == 20000 and fine_count(app, town) == 3


def test_a_discarded_file_is_gone(app, client, town, clerk):
    preview = upload(client, town, (HEADER + GOOD_ROWS).encode())
    action = re.search(r'action="([^"]+/discard)"', preview.get_data(as_text=True)).group(1)
    client.post(action, headers=host(town), data={"csrf_token": form_token(preview)})
    assert client.get(action.removesuffix("/discard"), headers=host(town)).status_code == 404
    assert fine_count(app, town) == 0


def test_staff_of_another_module_cannot_load(app, client, town):
    signed_in_staff(app, client, town, "other@example.com", role="clerk", modules=["announcements"])
    assert client.get("/admin/traffic-fines/import", headers=host(town)).status_code == 403


def test_two_overlapping_files_loaded_at_once_load_each_fine_once(app, town, clerk):
    """Two staff members press "Load" on the same fines at the same moment: one loads them,
    the other finds them loaded (identical, skipped); no error, no duplicate."""
    with tenant_context(town, app), app.test_request_context(headers=host(town)):
        tokens = [stage(FINES_IMPORT, f"copy{i}.csv", (HEADER + GOOD_ROWS).encode(),
                        clerk["user_id"]).token
                  for i in range(2)]
        db.session.commit()
    start = threading.Barrier(2)

    def press_load(token):
        with tenant_context(town, app), app.test_request_context(headers=host(town)):
            staged = staged_file(FINES_IMPORT, token, lock=True)
            start.wait()
            report = commit(FINES_IMPORT, staged, f"user:{clerk['user_id']}")
            db.session.commit()
            return len(report.new), report.identical

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(press_load, tokens))
    assert results == [(0, 2), (2, 0)] and fine_count(app, town) == 2


def test_dates_beyond_the_supported_range_are_named_by_line(app, town):
    """A time in year 1 (before the city's midnight in UTC) or 9999 (whose day after
    overflows) is a wrong cell, not a server error when the fines are shown."""
    content = HEADER + (
        "3301007,浙K11111,Parking,Market,0001-01-01 00:00,100.00,2026-03-20\n"   # line 2
        "3301008,浙K22222,Parking,Market,2026-03-03 10:00,100.00,9999-12-31\n")  # line 3
    report = report_of(app, town, content)
    problems = {problem.line: problem.message for problem in report.problems}
    assert not report.valid and sorted(problems) == [2, 3]
    assert "Time" in problems[2] and "1900-01-01" in problems[2]
    assert "Due date" in problems[3] and "2199-12-31" in problems[3]
