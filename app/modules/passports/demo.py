"""Demo settings of passport renewal for `flask demo` (the other cities keep the defaults)."""
from app.modules import configure

DEMO_SETTINGS = {
    "lishui": {
        "offices": "丽水市民服务中心（花园路 1 号）\n莲都区出入境接待大厅（人民街 18 号）",
        "required_documents": "户口簿本人页", "sla_working_days": 10,
        "public_holidays": "2026-10-01\n2026-10-02\n2026-10-05"},
    "shenzhen": {
        "offices": "Futian Exit-Entry Hall, 2 Shennan Road\nNanshan Service Centre",
        "fee_fen": 12000, "sla_working_days": 7},
}


def add_demo_data(slug: str) -> None:
    if slug in DEMO_SETTINGS:
        configure(values={"passports": DEMO_SETTINGS[slug]})
