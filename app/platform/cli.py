"""`flask platform create-staff EMAIL`: make a vendor staff account of the platform console and
print the link where its owner chooses a password (then sets up the second factor);
`flask platform reset-staff EMAIL`: the same link again, for a forgotten password (and, with
--second-factor, a lost phone)."""
import click
from flask import current_app

from app.accounts import normalize_email
from app.platform import audit
from app.platform.account import set_password_token
from app.platform.auth import find_staff, platform_second_factor, platform_sign_ins
from app.web.links import external_url
from tenants.cli import platform_cli
from tenants.db import db
from tenants.models import PLATFORM_ADMIN, PLATFORM_ROLES, PlatformStaff
from tenants.provisioning import actor


@platform_cli.command("create-staff")
@click.argument("email")
@click.option("--role", type=click.Choice(PLATFORM_ROLES), default=PLATFORM_ADMIN,
              show_default=True,
              help="admin: everything; support: reads everything, may impersonate city staff.")
def create_staff_command(email, role):
    """Make the vendor staff account EMAIL of the platform console and print a link, valid for
    72 hours and once, where its owner chooses a password; they set up their second factor
    (TOTP) when they first sign in. No password is printed or stored by this command."""

    address = normalize_email(email) or ""
    local, _, domain = address.partition("@")
    if not local or "." not in domain or len(address) > 254:
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    if find_staff(address) is not None:
        raise click.ClickException(f"a vendor staff account {address} exists already")
    staff = PlatformStaff(email=address, role=role)
    db.session.add(staff)
    db.session.flush()
    audit.record(actor(), "staff.create", None, staff_id=staff.id, email=address, role=role)
    db.session.commit()
    click.echo(f"Vendor staff account {address} ({role}) created. Its owner chooses a password "
               f"here (valid for 72 hours, once), then sets up the second factor:")
    click.echo(_set_password_link(staff))


@platform_cli.command("reset-staff")
@click.argument("email")
@click.option("--second-factor", is_flag=True,
              help="Also remove the second factor and recovery codes (a lost phone): it is set "
                   "up again at the next sign-in.")
def reset_staff_command(email, second_factor):
    """Reset the password of the vendor staff account EMAIL: its sessions end at once, and a
    link (valid for 72 hours, once) is printed where its owner chooses a new one."""

    staff = find_staff(email)
    if staff is None:
        raise click.ClickException(f"no vendor staff account {email}")
    staff.password_hash = None
    if second_factor:
        platform_second_factor.reset(staff)
    platform_sign_ins.end_all(staff.id)
    audit.record(actor(), "staff.reset", None, staff_id=staff.id, email=staff.email,
                 second_factor=second_factor)
    db.session.commit()
    click.echo(f"The password of {staff.email} is reset"
               f"{' and its second factor removed' if second_factor else ''}; its owner chooses "
               "a new one here (valid for 72 hours, once):")
    click.echo(_set_password_link(staff))


def _set_password_link(staff: PlatformStaff) -> str:
    return external_url("platform.set_password", host=current_app.config["PLATFORM_HOST"],
                        token=set_password_token(staff))
