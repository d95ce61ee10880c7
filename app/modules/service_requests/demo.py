"""Demo data of service requests for `flask demo`: Lishui's departments, categories (one with
extra questions) and a few reports in different states, so the public list and the queue have
something to show. No API key is made: issue one in the console (docs/modules/
service_requests.md)."""
from datetime import UTC, datetime
from decimal import Decimal

from app.modules.service_requests.models import (
    CLOSED,
    FIXED,
    IN_PROGRESS,
    ServiceAttribute,
    ServiceCategory,
    ServiceDepartment,
    ServiceRequestEvent,
)
from app.modules.service_requests.workflow import submit
from tenants.db import db

ROADS = {"name": "Roads Maintenance Office", "name_zh": "市政道路养护所"}
LIGHTING = {"name": "Street Lighting Office", "name_zh": "城市照明管理所"}
CITY_MANAGEMENT = {"name": "Urban Management Bureau", "name_zh": "综合行政执法局"}
# Questions as plain values: each city gets ORM objects of its own (add_demo_data).
CATEGORIES = [
    ("pothole", "Pothole", "道路坑洼", "Holes and broken surfaces of roads and pavements.",
     "道路、人行道路面破损或坑洼。", ("streets", "道路"), ROADS, 7,
     [{"code": "size", "datatype": "singlevaluelist", "required": True, "position": 1,
       "description": "How large is it?", "description_zh": "坑洼有多大？",
       "options": [{"key": "small", "name": "Smaller than a shoebox", "name_zh": "小于鞋盒"},
                   {"key": "large", "name": "Larger than a shoebox", "name_zh": "大于鞋盒"}]},
      {"code": "lane", "datatype": "string", "position": 2,
       "description": "Which lane or side of the road?",
       "description_zh": "在哪条车道或道路哪一侧？"}]),
    ("streetlight", "Broken streetlight", "路灯故障", "A streetlight that is out or flickers.",
     "路灯不亮或闪烁。", ("lighting", "照明"), LIGHTING, 3,
     [{"code": "pole_number", "datatype": "string", "position": 1,
       "description": "The number on the pole, if you can read it",
       "description_zh": "灯杆上的编号（如能看清）",
       "hint": "Such as LD-0123", "hint_zh": "例如 LD-0123"}]),
    ("graffiti", "Graffiti", "乱涂乱画", "Graffiti and posters stuck on public property.",
     "公共设施上的涂鸦和小广告。", ("cleanliness", "市容"), CITY_MANAGEMENT, 14, []),
    ("noise", "Noise", "噪声扰民", "Construction or business noise at night.",
     "夜间施工或经营噪声。", ("environment", "环境"), CITY_MANAGEMENT, 2, []),
]
REPORTS = [
    ("pothole", "人民街与花园路路口有一个很深的坑，雨天积水，电动车容易摔倒。",
     "人民街与花园路路口", ("28.451700", "119.922900"), {"size": "large"}, None, ""),
    ("streetlight", "解放街小学门口的路灯已经三天不亮了。", "解放街小学门口",
     None, {"pole_number": "LD-0417"}, IN_PROGRESS, "已派维修人员，预计两天内修复。"),
    ("graffiti", "公交站亭上贴满了小广告。", "丽阳门公交站", ("28.459300", "119.917400"),
     {}, CLOSED, "已清理完毕，感谢您的反映。"),
]


def add_demo_data(slug: str) -> None:
    if slug != "lishui":
        return
    departments = {}
    categories = {}
    for code, name, name_zh, text, text_zh, group, department, days, questions in CATEGORIES:
        if department["name"] not in departments:
            departments[department["name"]] = ServiceDepartment(**department)
        categories[code] = ServiceCategory(
            code=code, name=name, name_zh=name_zh, description=text, description_zh=text_zh,
            group_name=group[0], group_name_zh=group[1], days_to_close=days,
            department=departments[department["name"]],
            attributes=[ServiceAttribute(**question) for question in questions])
    db.session.add_all(categories.values())
    db.session.flush()
    for code, description, address, position, answers, status, note in REPORTS:
        latitude, longitude = (Decimal(value) for value in position) if position else (None,
                                                                                       None)
        request = submit(categories[code], locale="zh_Hans", description=description,
                         address=address, latitude=latitude, longitude=longitude,
                         answers=answers)
        if status is not None:  # as staff would have moved it
            now = datetime.now(UTC)
            request.status, request.status_notes, request.updated_at = status, note, now
            if status == CLOSED:
                request.close_reason, request.closed_at = FIXED, now
            request.events.append(ServiceRequestEvent(from_status="submitted", to_status=status,
                                                      public_note=note))
