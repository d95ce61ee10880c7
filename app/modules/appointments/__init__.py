"""Hospital appointments: citizens book a slot of a hospital department (a doctor or any) at
/services/appointments/, get a reference and a QR code for the desk, and cancel or move it until
the city's cut-off; staff work the day lists, check patients in, block slots and set up
hospitals and schedules at /admin/appointments/. Reminders are queued by a periodic job.

- models.py   hospitals, departments, doctors, schedules, closures, blocks, slot counters,
              appointments
- slots.py    which slots are bookable (schedules − closures − blocks, horizon, time zone)
- booking.py  every change of an appointment (capacity and anti-scalping kept by the database)
- reminders.py  the periodic reminder job
- demo.py     the demo cities' hospitals
- figures.py  the dashboard figures
- api.py      its REST API resources (the catalogue, the citizen's bookings)
- views.py, admin.py, forms.py, settings.py, templates/
"""
import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.modules import Module, Periodic, to_json
from app.modules.appointments import demo
from app.modules.appointments.admin import bp as admin_bp
from app.modules.appointments.api import bp as api_bp
from app.modules.appointments.booking import cancel_for_closed_account
from app.modules.appointments.figures import FIGURES
from app.modules.appointments.models import Appointment
from app.modules.appointments.reminders import queue_due_reminders
from app.modules.appointments.settings import AppointmentSettings
from app.modules.appointments.staff_api import bp as staff_api_bp
from app.modules.appointments.views import bp
from tenants.db import db


def bookings_of(user) -> list[dict]:
    """For "Download my data": every booking of the citizen, oldest first."""
    locale = get_locale()
    return [{**to_json(appointment, "reference", "status", "starts_at", "patient_name",
                       "id_number_last4", "phone", "booked_at", "cancelled_at"),
             "hospital": appointment.department.hospital.name_for(locale),
             "department": appointment.department.name_for(locale)}
            for appointment in db.session.scalars(sa.select(Appointment).where(
                Appointment.user_id == user.id).order_by(Appointment.id))]

module = Module(
    key="appointments",
    name=_l("Hospital appointments"),
    description=_l("Book, move or cancel an appointment at a city hospital."),
    introduction=_l("Choose a hospital, then a department, a doctor or any doctor, a day and "
                    "a time."),
    icon="health",
    settings=AppointmentSettings,
    citizen=bp,
    admin=admin_bp,
    api_v1=api_bp,
    staff_api_v1=staff_api_bp,
    account_section="appointments/_account_section.html",
    personal_data=bookings_of,
    on_account_closed=cancel_for_closed_account,
    # Every 15 minutes, each active city that offers appointments queues its due reminders.
    periodic=(Periodic("appointments.remind", cron="*/15 * * * *", run=queue_due_reminders,
                       queue="notifications"),),
    figures=FIGURES,
    demo=demo.add_demo_data,
    order=10,
)
