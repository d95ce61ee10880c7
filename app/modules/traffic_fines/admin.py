"""Staff pages of traffic fines: load the police's CSV export, search and filter the fines,
see which are paid, export the list."""
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from app.city_time import city_midnight, city_today
from app.modules.traffic_fines.forms import FineFilterForm
from app.modules.traffic_fines.models import TrafficFine
from app.payments.records import where_state
from app.spreadsheets.export import csv_download
from app.spreadsheets.imports import (
    Column,
    ImportSpec,
    a_city_time,
    a_date,
    add_import_routes,
    bilingual_columns,
    code,
    plate,
    text,
    yuan_to_fen,
)
from app.staff.permissions import staff_required
from app.web.forms import INVALID_FORM
from app.web.pagination import page_of
from tenants.db import db

bp = Blueprint("traffic_fines", __name__, template_folder="templates")
WORK = staff_required("work_module", module="traffic_fines")

FINES_IMPORT = ImportSpec(
    kind="traffic_fines", title=_l("Load traffic fines"), model=TrafficFine, key="ticket_number",
    columns=(
        Column("ticket_number", _l("Ticket number"),
               ("ticket number", "ticket", "ticket no", "决定书编号", "处罚决定书编号", "罚单编号",
                "罚单号"), code),
        Column("plate_number", _l("Plate number"),
               ("plate number", "plate", "licence plate", "号牌号码", "车牌号码", "车牌号"), plate),
        *bilingual_columns("offence", _l("Offence"), ("offence", "offense", "violation"),
                           ("违法行为", "违法内容"), text(500)),
        *bilingual_columns("place", _l("Place"), ("place", "location"), ("违法地点", "地点"),
                           text(200)),
        Column("occurred_at", _l("Time"),
               ("time", "offence time", "date and time", "违法时间", "时间"), a_city_time),
        Column("amount_fen", _l("Amount (yuan)"),
               ("amount", "amount yuan", "fine", "罚款金额", "罚款金额元", "金额"), yuan_to_fen),
        Column("due_date", _l("Due date"),
               ("due date", "pay by", "缴款期限", "缴款截止日期", "截止日期"), a_date),
    ))


def filtered(form: FineFilterForm) -> sa.Select:
    """The fines the staff's filter selects, newest offence first."""
    query = sa.select(TrafficFine)
    if form.plate.data:
        query = query.where(TrafficFine.plate_number.contains(
            form.plate.data.replace(" ", "").upper(), autoescape=True))
    if form.ticket.data:
        query = query.where(TrafficFine.ticket_number == form.ticket.data.strip().upper())
    query = where_state(query, TrafficFine, form.status.data, city_today())
    if form.date_from.data:
        query = query.where(TrafficFine.occurred_at >= city_midnight(form.date_from.data))
    if form.date_to.data:
        query = query.where(TrafficFine.occurred_at <
                            city_midnight(form.date_to.data + timedelta(days=1)))
    return query.order_by(TrafficFine.occurred_at.desc(), TrafficFine.id.desc())


@bp.get("/")
@WORK
def index():
    form = FineFilterForm(request.args)
    if not form.validate():
        return render_template("traffic_fines/admin/index.html", form=form, fines=[], page=1,
                               has_next=False, today=city_today()), INVALID_FORM
    fines, page, has_next = page_of(filtered(form))
    return render_template("traffic_fines/admin/index.html", form=form, fines=fines, page=page,
                           has_next=has_next, today=city_today())


@bp.get("/export.csv")
@WORK
def export():
    form = FineFilterForm(request.args)
    if not form.validate():
        return index()
    fines = db.session.scalars(filtered(form).execution_options(yield_per=1000))
    return csv_download("traffic-fines.csv", [
        "ticket_number", "plate_number", "offence_zh", "offence", "place_zh", "place",
        "occurred_at", "amount_fen", "due_date", "status", "payment_id", "paid_at", "paid_fen"], (
        [fine.ticket_number, fine.plate_number, fine.offence_zh, fine.offence, fine.place_zh,
         fine.place,
         fine.occurred_at.isoformat(), fine.amount_fen, fine.due_date.isoformat(),
         "paid" if fine.is_paid else "unpaid", fine.payment_id,
         fine.paid_at.isoformat() if fine.paid_at else "", fine.paid_fen]
        for fine in fines))


add_import_routes(bp, FINES_IMPORT, WORK, prefix="", back_endpoint="admin.traffic_fines.index")
