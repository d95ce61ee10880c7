"""Demo settings of passport renewal for `flask demo` (the other cities keep the defaults)."""
from app.modules import configure

DEMO_SETTINGS = {
    "lishui": {
        "offices": [
            {"name_zh": "丽水市民服务中心（花园路 1 号）",
             "name": "Lishui Civic Service Centre, 1 Huayuan Road"},
            {"name_zh": "莲都区出入境接待大厅（人民街 18 号）",
             "name": "Liandu Exit-Entry Hall, 18 Renmin Street"}],
        "required_documents": [{"name_zh": "户口簿本人页",
                                "name": "Your page of the household register"}],
        "sla_working_days": 10, "public_holidays": "2026-10-01\n2026-10-02\n2026-10-05"},
    "shenzhen": {
        "offices": [
            {"name_zh": "福田出入境大厅（深南大道 2 号）",
             "name": "Futian Exit-Entry Hall, 2 Shennan Road"},
            {"name_zh": "南山政务服务中心", "name": "Nanshan Service Centre"}],
        "fee_fen": 12000, "sla_working_days": 7},
}


def add_demo_data(slug: str) -> None:
    if slug in DEMO_SETTINGS:
        configure(values={"passports": DEMO_SETTINGS[slug]})
