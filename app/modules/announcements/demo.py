"""Demo announcements for `flask demo` (the first of Lishui's is pinned: the site's banner)."""
from datetime import UTC, datetime, timedelta

from app.modules.announcements.models import Announcement
from tenants.db import db

DEMO_ANNOUNCEMENTS = {
    "lishui": (
        {"title": "Heavy rain expected this weekend: check flood warnings",
         "title_zh": "本周末有强降雨，请关注防汛预警", "pinned": True,
         "body": "The weather service expects heavy rain from Saturday morning.\n\n"
                 "Avoid riverbanks and follow the flood warnings of your district.",
         "body_zh": "气象部门预计周六上午起有强降雨。\n\n请远离河岸，留意所在区的防汛预警。"},
        {"title": "Citizen service centre opens on Saturdays",
         "title_zh": "市民服务中心周六开放",
         "body": "From next month the centre on Huayuan Road opens on Saturdays, 9:00-12:00.",
         "body_zh": "自下月起，花园路市民服务中心周六上午9:00至12:00开放。"},
    ),
    "beijing": (
        {"title": "Online passport appointments coming soon",
         "title_zh": "护照网上预约即将上线",
         "body": "Passport renewal appointments will soon be bookable on this site.",
         "body_zh": "护照换发预约即将可在本网站办理。"},
    ),
}


def add_demo_data(slug: str) -> None:
    db.session.add_all(Announcement(published_at=datetime.now(UTC) - timedelta(hours=i), **texts)
                       for i, texts in enumerate(DEMO_ANNOUNCEMENTS.get(slug, ())))
