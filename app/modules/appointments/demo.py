"""Demo hospitals for `flask demo`: a hospital or two per demo city that offers appointments,
with departments, doctors and weekly consulting hours (Monday to Friday, some Saturdays)."""
from datetime import time

from app.modules.appointments.models import Department, Doctor, Hospital, Schedule
from tenants.db import db

MORNING, AFTERNOON = (time(8), time(11, 30)), (time(13, 30), time(17))

DEMO_HOSPITALS = {
    "lishui": [
        {"name": "Lishui Central Hospital", "name_zh": "丽水市中心医院",
         "address": "289 Kuocang Road, Liandu District", "address_zh": "莲都区括苍路289号",
         "phone": "0578-2285000",
         "departments": [
             {"name": "Cardiology", "name_zh": "心血管内科",
              "doctors": [("Dr Chen Wei", "陈伟", ("Chief physician", "主任医师")),
                          ("Dr Zhou Min", "周敏", ("Attending physician", "主治医师"))]},
             {"name": "Paediatrics", "name_zh": "儿科",
              "doctors": [("Dr Wu Hong", "吴红", ("Associate chief physician", "副主任医师"))]}]},
        {"name": "Lishui Hospital of Traditional Chinese Medicine", "name_zh": "丽水市中医院",
         "address": "800 Zhongshan Street, Liandu District", "address_zh": "莲都区中山街800号",
         "phone": "0578-2123456",
         "departments": [
             {"name": "Acupuncture", "name_zh": "针灸科",
              "doctors": [("Dr Lin Fang", "林芳", ("Chief physician", "主任医师"))]}]},
    ],
    "beijing": [
        {"name": "Tongzhou District People's Hospital", "name_zh": "通州区人民医院",
         "address": "27 Xinhua South Road, Tongzhou District",
         "address_zh": "通州区新华南路27号", "phone": "010-69543901",
         "departments": [
             {"name": "Dermatology", "name_zh": "皮肤科",
              "doctors": [("Dr Zhang Lei", "张磊", ("Chief physician", "主任医师")),
                          ("Dr Liu Yang", "刘洋", ("Attending physician", "主治医师"))]},
             {"name": "Ophthalmology", "name_zh": "眼科", "doctors": []}]},
    ],
}


def add_demo_data(slug: str) -> None:
    """In the bound city: its demo hospitals. Doctors see
    patients on weekday mornings (20-minute slots, 2 places); departments without doctors
    keep weekday afternoons of their own (30 minutes, 3 places) and Saturday mornings."""
    for spec in DEMO_HOSPITALS.get(slug, ()):
        hospital = Hospital(name=spec["name"], name_zh=spec["name_zh"],
                            address=spec["address"], address_zh=spec["address_zh"],
                            phone=spec["phone"])
        db.session.add(hospital)
        for department_spec in spec["departments"]:
            department = Department(hospital=hospital, name=department_spec["name"],
                                    name_zh=department_spec["name_zh"])
            db.session.add(department)
            db.session.flush()
            for name, name_zh, (title, title_zh) in department_spec["doctors"]:
                doctor = Doctor(department=department, name=name, name_zh=name_zh, title=title,
                                title_zh=title_zh)
                db.session.add(doctor)
                db.session.flush()
                db.session.add_all(Schedule(
                    department_id=department.id, doctor_id=doctor.id, weekday=weekday,
                    start_time=MORNING[0], end_time=MORNING[1], slot_minutes=20, capacity=2)
                    for weekday in range(5))
            db.session.add_all(Schedule(
                department_id=department.id, weekday=weekday, start_time=start, end_time=end,
                slot_minutes=30, capacity=3)
                for weekday, (start, end) in [*((d, AFTERNOON) for d in range(5)),
                                              (5, MORNING)])
