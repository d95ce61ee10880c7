"""Imported texts in Chinese and English (bilingual_columns): a column per language matched by
its header, one of the two enough; a file with only one of them (as files were before) puts
each text where its characters say, so an old file loads, and loads again as identical; the
preview and the staff's lists show both, citizens and API clients read theirs, the other
where one is missing; hostile files are refused whole with a clear reason."""
import re

import pytest
import sqlalchemy as sa
from alembic import command

from app.modules.traffic_fines.models import TrafficFine
from app.modules.utility_bills.models import UtilityAccount
from app.spreadsheets.imports import is_chinese
from tenants.context import tenant_context
from tenants.db import db
from tests.app.spreadsheets.test_imports import fine_count, load, report_of, upload
from tests.conftest import form_token
from tests.support.accounts import signed_in_citizen, signed_in_staff
from tests.support.cities import audit_entries, configure_city, host, post_form, with_every_module
from tests.support.migrations import tenant_schema_at
from tests.support.oauth import add_client, bearer, citizen_token, service_token

ROW = "浙K12345,2026-03-01 14:30,200.00,2026-03-16"
BOTH = ("ticket number,违法行为,offence (English),地点,place,plate number,time,amount,due date\n"
        f"3301001,超速行驶,Speeding,花园路,Huayuan Road,{ROW}\n"
        f"3301002,闯红灯,,人民街,,{ROW}\n"             # Chinese only
        f"3301003,,Illegal parking,,Market,{ROW}\n")  # English only
# A file as the police sent them before the two languages: one column each, either language.
OLD = ("ticket number,offence,place,plate number,time,amount,due date\n"
       f"3301001,超速行驶,花园路,{ROW}\n"
       f"3301004,Speeding,Huayuan Road,{ROW}\n")


@pytest.fixture()
def town(app, make_city):
    tenant = make_city("bilingual", locale="en", timezone="Asia/Shanghai")
    configure_city(app, tenant, enable=["traffic_fines", "utility_bills"])
    return tenant


@pytest.fixture()
def clerk(app, client, town):
    return signed_in_staff(app, client, town, "clerk@example.com", role="clerk",
                           modules=["traffic_fines", "utility_bills"])


def texts(app, town) -> dict[str, tuple[str, str, str, str]]:
    with tenant_context(town, app):
        return {fine.ticket_number: (fine.offence_zh, fine.offence, fine.place_zh, fine.place)
                for fine in db.session.scalars(sa.select(TrafficFine))}


def test_is_chinese_reads_han_characters_only():
    assert is_chinese("超速") and is_chinese("Road 路") and is_chinese("𠀀")  # extension B
    assert not is_chinese("Speeding") and not is_chinese("１２３，。") and not is_chinese("")


def test_a_column_per_language_is_matched_by_its_header(app, town):
    report = report_of(app, town, BOTH)
    assert report.valid and report.ignored_columns == []
    assert [(row["offence_zh"], row["offence"], row["place_zh"], row["place"])
            for row in report.new] == [("超速行驶", "Speeding", "花园路", "Huayuan Road"),
                                       ("闯红灯", "", "人民街", ""),
                                       ("", "Illegal parking", "", "Market")]


def test_a_file_with_one_column_per_text_loads_by_characters_and_again_as_identical(
        app, client, town, clerk):
    response = load(client, town, upload(client, town, OLD.encode()))
    assert response.status_code == 302
    assert texts(app, town) == {"3301001": ("超速行驶", "", "花园路", ""),
                                "3301004": ("", "Speeding", "", "Huayuan Road")}
    again = upload(client, town, OLD.encode()).get_data(as_text=True)
    assert "Every row is valid" in again and "Load 0 records" in again
    # The same fine given in the two columns it now has is the same record, too.
    split = ("ticket number,违法行为,offence (English),违法地点,place (English),plate number,"
             f"time,amount,due date\n3301001,超速行驶,,花园路,,{ROW}\n")
    assert "Load 0 records" in upload(client, town, split.encode()).get_data(as_text=True)


def test_the_preview_and_the_staff_list_show_both_languages(app, client, town, clerk):
    preview = upload(client, town, BOTH.encode())
    page = preview.get_data(as_text=True)
    assert "Offence in Chinese" in page and "Offence in English" in page
    assert '<td lang="zh-Hans">超速行驶</td><td lang="en">Speeding</td>' in page
    assert '<td lang="zh-Hans">闯红灯</td><td>—</td>' in page
    load(client, town, preview)
    listing = client.get("/admin/traffic-fines/", headers=host(town)).get_data(as_text=True)
    assert '<span lang="zh-Hans">超速行驶</span> / <span lang="en">Speeding</span>' in listing
    form = client.get("/admin/traffic-fines/import", headers=host(town)).get_data(as_text=True)
    assert "offence (English)" in form and "违法行为（中文）" in form
    assert "this or the other language" in form


def test_citizens_and_api_clients_read_their_language_or_the_other(app, client, town, clerk):
    load(client, town, upload(client, town, BOTH.encode()))
    citizen = app.test_client()
    signed_in_citizen(app, citizen, town, "reader@example.com")
    pages = {}
    for ticket in ("3301001", "3301002"):
        found = post_form(citizen, town, "/services/traffic-fines/",
                          {"plate_number": "浙K12345", "ticket_number": ticket})
        pages[ticket] = found.headers["Location"]
    english = citizen.get(pages["3301001"], headers=host(town)).get_data(as_text=True)
    assert "<dd>Speeding</dd>" in english and "<dd>Huayuan Road</dd>" in english
    assert "<dd>闯红灯</dd>" in citizen.get(pages["3301002"], headers=host(town)).get_data(
        as_text=True)  # no English: the Chinese
    citizen.get("/lang/zh_Hans", headers=host(town))
    chinese = citizen.get(pages["3301001"], headers=host(town)).get_data(as_text=True)
    assert "<dd>超速行驶</dd>" in chinese and "<dd>花园路</dd>" in chinese

    client_id, _ = add_client(app, town, scopes=("payments:read",))
    token = citizen_token(app, citizen, town, client_id, "payments:read")["access_token"]
    lookup = {"plate_number": "浙K12345", "ticket_number": "3301003"}
    for language, offence in (("zh-CN", "Illegal parking"), ("en", "Illegal parking")):
        answer = app.test_client().post("/api/v1/traffic-fines/lookup", json=lookup,
                                        headers=bearer(town, token, **{"Accept-Language":
                                                                       language}))
        assert answer.get_json()["offence"] == offence  # English only: both read it
    lookup["ticket_number"] = "3301001"
    for language, offence, place in (("zh-CN", "超速行驶", "花园路"),
                                     ("en", "Speeding", "Huayuan Road")):
        fine = app.test_client().post("/api/v1/traffic-fines/lookup", json=lookup,
                                      headers=bearer(town, token, **{"Accept-Language":
                                                                     language})).get_json()
        assert (fine["offence"], fine["place"]) == (offence, place)


@pytest.mark.parametrize(("content", "line", "reason"), [
    # The same column under two of its names.
    ("ticket number,offence,offence (English),place,plate number,time,amount,due date\n"
     f"1,A,B,C,{ROW}\n", 1, "“Offence in English” appears twice"),
    # Neither language of a required text.
    (f"ticket number,place,plate number,time,amount,due date\n1,C,{ROW}\n", 1,
     "Columns missing: Offence"),
    (f"ticket number,违法行为,offence,place,plate number,time,amount,due date\n1,,,C,{ROW}\n",
     2, "Offence: empty; give it in Chinese or in English"),
    (f"ticket number,offence,place,plate number,time,amount,due date\n1,{'x' * 501},C,{ROW}\n",
     2, "Offence in English: At most 500 characters"),
    (f"ticket number,offence,place,plate number,time,amount,due date\n1,{'违' * 501},C,{ROW}\n",
     2, "Offence in English: At most 500 characters"),  # read before it is placed
    (f"ticket number,offence,place,plate number,time,amount,due date\n1,A\x00,C,{ROW}\n", 0,
     "NUL characters"),
    (f"ticket number,offence,place,plate number,time,amount,due date\n1,A,C,{ROW}\n"
     f"2,{'x' * 200_000},C,{ROW}\n", 3, "far too long"),
])
def test_a_hostile_file_is_refused_with_its_reason_and_loads_nothing(app, client, town, clerk,
                                                                    content, line, reason):
    report = report_of(app, town, content)
    assert [(problem.line, reason in problem.message) for problem in report.problems] == [
        (line, True)], report.problems
    page = upload(client, town, content.encode())
    assert "Nothing can be loaded" in page.get_data(as_text=True)
    action = re.search(r'action="([^"]+)/discard"', page.get_data(as_text=True)).group(1)
    refused = client.post(action + "/load", headers=host(town),
                          data={"csrf_token": form_token(page)})
    assert refused.status_code == 422 and fine_count(app, town) == 0


def test_a_utf16_export_is_refused_as_not_text(app, town):
    report = report_of(app, town, OLD.encode("utf-16"))
    (problem,) = report.problems
    assert problem.line == 0 and "UTF-16" in problem.message


def test_the_api_loads_the_same_files_and_refuses_the_same_way(app, town):
    token = service_token(app, town)
    api = app.test_client()
    csv = bearer(town, token, **{"Content-Type": "text/csv"})
    refused = api.post("/api/v1/staff/traffic-fines/imports", headers=csv,
                       data=(OLD + f"3301009,,,{ROW}\n").encode())
    assert refused.status_code == 422
    assert [error["line"] for error in refused.get_json()["row_errors"]] == [4]
    assert fine_count(app, town) == 0
    loaded = api.post("/api/v1/staff/traffic-fines/imports", headers=csv, data=BOTH.encode())
    assert loaded.status_code == 201 and loaded.get_json()["loaded"] == 3
    assert texts(app, town)["3301001"] == ("超速行驶", "Speeding", "花园路", "Huayuan Road")
    accounts = ("户号,类型,户主姓氏,地址,address\n"
                "W-1,water,王,莲都区花园路1号,1 Huayuan Road\nW-2,gas,李,,\n")
    loaded = api.post("/api/v1/staff/utility-accounts/imports", headers=csv,
                      data=accounts.encode())
    assert loaded.status_code == 201, loaded.get_data(as_text=True)
    with tenant_context(town, app):
        rows = {account.account_number: (account.address_zh, account.address)
                for account in db.session.scalars(sa.select(UtilityAccount))}
    assert rows == {"W-1": ("莲都区花园路1号", "1 Huayuan Road"), "W-2": ("", "")}
    assert len(audit_entries(app, town, "utility_accounts.import")) == 1


def test_an_address_in_one_column_goes_by_its_characters_and_shows_in_each_language(
        app, client, town, clerk):
    accounts = "户号,类型,户主姓氏,地址\nW-1,water,王,莲都区花园路1号\nE-2,gas,Wang,5 Market St\n"
    load(client, town, upload(client, town, accounts.encode(),
                               "/admin/utility-bills/accounts/import"))
    listing = client.get("/admin/utility-bills/accounts", headers=host(town)).get_data(
        as_text=True)
    assert '<span lang="zh-Hans">莲都区花园路1号</span> / <span lang="en">—</span>' in listing
    assert '<span lang="zh-Hans">—</span> / <span lang="en">5 Market St</span>' in listing


def test_the_demo_cities_fines_and_accounts_have_both_languages(app, make_city):
    tenant = make_city("demo-texts", locale="en")
    with_every_module(app, tenant)
    with tenant_context(tenant, app):
        fines = db.session.scalars(sa.select(TrafficFine)).all()
        accounts = db.session.scalars(sa.select(UtilityAccount)).all()
        assert fines and accounts
        for fine in fines:
            assert all((fine.offence, fine.offence_zh, fine.place, fine.place_zh)), fine.id
            assert is_chinese(fine.offence_zh) and not is_chinese(fine.offence)
        for account in accounts:
            assert is_chinese(account.address_zh) and account.address and not is_chinese(
                account.address)


def test_the_migration_splits_the_stored_texts_by_characters_and_back(app_context):
    """Tenant revision b7e3f1a9c2d4 on rows loaded before it: a text with a Han character
    moves to the Chinese column, any other stays English, an address never given is empty;
    its downgrade puts one text back (the Chinese where there is one)."""
    with tenant_schema_at("city_texts", "9e41c7a2b6d0") as (connection, config):
        connection.exec_driver_sql(
            "INSERT INTO traffic_fines (ticket_number, plate_number, offence, place, occurred_at,"
            " amount_fen, due_date) VALUES"
            " ('1', '浙K1', '超速 60 km/h', 'Huayuan Road', now(), 100, '2026-03-01'),"
            " ('2', '浙K2', 'Speeding', '𠀀 Street', now(), 100, '2026-03-01')")
        connection.exec_driver_sql(
            "INSERT INTO utility_accounts (account_number, kind, holder_surname, address)"
            " VALUES ('W-1', 'water', '王', '花园路1号'), ('W-2', 'gas', 'li', NULL),"
            " ('W-3', 'gas', 'li', '5 Market St')")
        command.upgrade(config, "b7e3f1a9c2d4")
        fines = connection.exec_driver_sql(
            "SELECT offence_zh, offence, place_zh, place FROM traffic_fines"
            " ORDER BY ticket_number").all()
        accounts = connection.exec_driver_sql(
            "SELECT address_zh, address FROM utility_accounts ORDER BY account_number").all()
        command.downgrade(config, "9e41c7a2b6d0")
        merged = connection.exec_driver_sql(
            "SELECT offence, place FROM traffic_fines ORDER BY ticket_number").all()
        addresses = connection.exec_driver_sql(
            "SELECT address FROM utility_accounts ORDER BY account_number").all()
    assert fines == [("超速 60 km/h", "", "", "Huayuan Road"), ("", "Speeding", "𠀀 Street", "")]
    assert accounts == [("花园路1号", ""), ("", ""), ("", "5 Market St")]
    assert merged == [("超速 60 km/h", "Huayuan Road"), ("Speeding", "𠀀 Street")]
    assert addresses == [("花园路1号",), (None,), ("5 Market St",)]
