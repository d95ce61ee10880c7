"""Webhooks: a city's own systems subscribe endpoints to its events (payments received and
refunded, appointments booked and cancelled, passport cases and service requests changing
status) and receive each event as a signed POST (docs/webhooks.md).

The service functions that make those changes call `publish(event_type, data)` in their own
transaction, which writes one delivery per subscribed endpoint (an outbox: a rolled-back
change sends nothing); the delivery job sends them after the commit, through the outbound
guard (app/outbound.py), retrying with back-off. The package sits below payments and the
modules, so they call it directly and it imports none of them.

- models.py     endpoints and deliveries (the city's tables)
- events.py     the events, `publish`, and asking for the delivery job after a commit
- delivery.py   signing and sending, back-off, pausing an endpoint that keeps failing
- endpoints.py  registering, changing, resuming and deleting endpoints, re-sending (audited)
- tasks.py      the delivery job and the minutely sweep
"""
from app.webhooks import tasks  # noqa: F401  (declares the jobs)
from app.webhooks.events import EVENTS, publish

__all__ = ["EVENTS", "publish"]
