"""`flask tenants payments SLUG …`: the city's payment provider, credentials and settings."""
import click
from flask_babel import force_locale

from app.audit.models import AuditEntry
from app.outbound import url_problem
from app.payments import merchant
from app.payments.models import PROVIDERS
from tenants.cli import tenants_cli
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.provisioning import actor


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from None


@tenants_cli.command("payments")
@click.argument("slug")
@click.option("--provider", type=click.Choice(PROVIDERS),
              help="Take payments through this provider.")
@click.option("--app-id", help="The Alipay app ID.")
@click.option("--private-key-file", type=click.Path(dir_okay=False),
              help="The merchant's RSA2 private key for Alipay (PEM or base64), from a file.")
@click.option("--alipay-public-key-file", type=click.Path(dir_okay=False),
              help="Alipay's public key (PEM or base64), from a file.")
@click.option("--gateway", metavar="URL",
              help="The Alipay gateway (default: production; give the sandbox's to test).")
@click.option("--seller-id", metavar="PID",
              help="The merchant's Alipay partner ID (2088…, 16 digits): notifications naming "
                   "another seller are refused. Empty to unset.")
@click.option("--expiry-minutes", type=click.IntRange(1, 1440),
              help="How long a citizen has to pay (default 30).")
def payments_command(slug, provider, app_id, private_key_file, alipay_public_key_file, gateway,
                     seller_id, expiry_minutes):
    """Show or change the payment settings of the city SLUG. Keys are stored encrypted and never
    printed. All changes apply together, or none."""
    tenant = directory().get(slug)
    if tenant is None:
        raise click.ClickException(f"no city with the slug {slug!r}")
    if gateway:  # "" goes back to Alipay's production gateway
        with force_locale("en"):
            problem = url_problem(gateway.strip())
        if problem:
            raise click.ClickException(f"--gateway {gateway!r} is refused: {problem}")
    private_key, public_key = _read(private_key_file), _read(alipay_public_key_file)
    with tenant_context(tenant):
        try:
            changes = merchant.configure(provider=provider, app_id=app_id,
                                         private_key=private_key, public_key=public_key,
                                         gateway_url=gateway, expiry_minutes=expiry_minutes,
                                         seller_id=seller_id)
        except ValueError as error:
            db.session.rollback()
            raise click.ClickException(f"nothing changed: {error}") from None
        if changes:
            db.session.add(AuditEntry(
                actor=actor(), action="payments.merchant", target="payment_merchant",
                before={k: v[0] for k, v in changes.items()},
                after={k: v[1] for k, v in changes.items()}))
        db.session.commit()
        account = merchant.account()
        shown = [("provider", account.provider), ("expiry minutes", account.expiry_minutes),
                 ("alipay app id", account.alipay_app_id or "-"),
                 ("alipay seller id", account.alipay_seller_id or "-"),
                 ("alipay private key", "set" if account.alipay_private_key_encrypted else "-"),
                 ("alipay public key", "set" if account.alipay_public_key_encrypted else "-"),
                 ("alipay gateway",
                  account.alipay_gateway_url or merchant.DEFAULT_ALIPAY_GATEWAY)]
        db.session.commit()
    for name, value in shown:
        click.echo(f"{name:<20} {value}")
