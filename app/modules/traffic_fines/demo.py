"""Demo fines for `flask demo`: three to look up (one overdue, with its late fee)."""
from datetime import UTC, date, datetime, timedelta

from app.modules import configure
from app.modules.traffic_fines.models import TrafficFine
from tenants.db import db

PLATE_PREFIX = {"lishui": "浙K", "shenzhen": "粤B"}


def add_demo_data(slug: str) -> None:
    prefix = PLATE_PREFIX.get(slug)
    if prefix is None:
        return
    configure(values={"traffic_fines": {"plate_prefix": prefix}})
    today = date.today()
    db.session.add_all(
        TrafficFine(ticket_number=f"3311{number}", plate_number=f"{prefix}{plate}",
                    offence_zh=offence_zh, offence=offence, place_zh=place_zh, place=place,
                    amount_fen=fen, occurred_at=datetime.now(UTC) - timedelta(days=days),
                    due_date=today + timedelta(days=15 - days))
        for number, plate, offence_zh, offence, place_zh, place, fen, days in (
            ("0001", "12345", "超速行驶", "Speeding", "花园路与人民街路口",
             "Huayuan Road at Renmin Street", 20000, 3),
            ("0002", "12345", "违反禁止标线指示", "Crossing a no-crossing line", "中山街",
             "Zhongshan Street", 10000, 40),
            ("0003", "A8888", "机动车违反规定停放", "Illegal parking", "市民服务中心停车场",
             "Civic Centre car park", 15000, 10)))
