"""The reminder job (Module.periodic): every 15 minutes, in each city that offers appointments,
the reminders now due are queued (booking.queue_reminders), each once."""
from app.modules.appointments.booking import queue_reminders
from tenants.db import db


def queue_due_reminders() -> int:
    """Queue the city's due reminders; returns how many."""
    queued = queue_reminders()
    db.session.commit()
    return queued
