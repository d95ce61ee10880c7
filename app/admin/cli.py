"""`flask tenants invite-admin SLUG EMAIL`: invite a city's first administrator (or any staff
member) by email; prints the link too, for when mail is not set up yet."""
import click

from app.accounts import normalize_email
from app.modules import discover
from app.staff import invitations
from app.staff.models import ADMIN, MODULE_ROLES, ROLES
from app.staff.seats import NoStaffSeatLeft
from tenants.cli import tenants_cli
from tenants.context import directory
from tenants.provisioning import actor


@tenants_cli.command("invite-admin")
@click.argument("slug")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default=ADMIN, show_default=True,
              help="The role the invitation gives.")
@click.option("--module", "modules", multiple=True, metavar="KEY",
              help="A module the role covers (module managers and clerks; repeatable).")
def invite_admin_command(slug, email, role, modules):
    """Invite EMAIL to the staff of the city SLUG: mails a link that works once, for 7 days,
    and records the invitation in the city's audit log."""

    if "@" not in (normalize_email(email) or ""):
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    unknown = sorted(set(modules) - set(discover()))
    if unknown:
        raise click.BadParameter(f"no such module: {', '.join(unknown)}", param_hint="--module")
    if role in MODULE_ROLES and not modules:
        raise click.BadParameter(f"the role {role} needs at least one --module",
                                 param_hint="--module")
    tenant = directory().get(slug)
    if tenant is None:
        raise click.ClickException(f"no city with the slug {slug!r}")
    try:
        link = invitations.invite_from_outside(
            tenant, email, role, list(modules) if role in MODULE_ROLES else [], actor())
    except NoStaffSeatLeft as error:
        raise click.ClickException(f"nothing sent: {error}") from None
    click.echo(f"Invitation for {normalize_email(email)} as {role} in {slug} "
               f"(valid for 7 days, once):")
    click.echo(link)
