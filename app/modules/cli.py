"""`flask tenants modules SLUG …`: which modules a city offers, and their settings."""
import json

import click

from app.audit.models import AuditEntry
from app.modules import (
    ModuleError,
    city_states,
    configure,
    discover,
    outside_plan,
    settings_of,
)
from tenants.cli import tenants_cli
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.provisioning import actor


def _assignment(text: str) -> tuple[str, str, object]:
    """KEY.field=value; the value is read as JSON when it is JSON (14, true, "x"), else text."""
    target, sep, raw = text.partition("=")
    key, dot, name = target.partition(".")
    if not sep or not dot or not key or not name:
        raise click.BadParameter(f"{text!r}: write KEY.field=value", param_hint="--set")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, name, value


@tenants_cli.command("modules")
@click.argument("slug")
@click.option("--enable", "enable", multiple=True, metavar="KEY", help="Offer a module.")
@click.option("--disable", "disable", multiple=True, metavar="KEY", help="Stop offering one.")
@click.option("--set", "assignments", multiple=True, metavar="KEY.field=value",
              help="Change a setting (validated by the module's schema).")
def modules_command(slug, enable, disable, assignments):
    """Show or change the service modules of the city SLUG (those its plan includes). All
    changes apply together, or none (an invalid value, or a module outside the city's plan, is
    refused with what it concerns)."""
    values: dict[str, dict] = {}
    for key, name, value in map(_assignment, assignments):
        values.setdefault(key, {})[name] = value
    tenant = directory().get(slug)
    if tenant is None:
        raise click.ClickException(f"no city with the slug {slug!r}")
    with tenant_context(tenant):
        if enable or disable or values:
            try:
                changes = configure(enable, disable, values)
            except ModuleError as error:
                db.session.rollback()
                raise click.ClickException(f"nothing changed: {error}") from None
            for key, (before, after) in changes.items():
                db.session.add(AuditEntry(actor=actor(), action="module.configure",
                                          target=key, before=before, after=after))
            db.session.commit()
        states = city_states()
        for key in (key for key in discover() if not outside_plan(key)):
            enabled = "enabled " if key in states and states[key].enabled else "disabled"
            click.echo(f"{key:<20} {enabled} {json.dumps(settings_of(key), ensure_ascii=False)}")
