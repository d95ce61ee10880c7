"""The jobs of webhooks: a city's delivery, and the sweep that sends retries when they are
due (and deliveries whose job was lost)."""
from app.webhooks.delivery import deliver_due, due
from app.webhooks.events import DELIVER, ask_for_delivery
from tenants.context import current_tenant
from tenants.jobs import ask_active_cities, city_task, platform_task


@city_task(DELIVER, queue="webhooks")
def deliver() -> dict:
    """Send the city's due deliveries; retries wait for the sweep."""
    return deliver_due()


@platform_task("webhooks.retry_due", cron="* * * * *", queue="webhooks")
def retry_due() -> int:
    """Ask for delivery in every active city with deliveries due; returns how many cities."""
    return ask_active_cities(due, lambda: ask_for_delivery(current_tenant().slug))
