"""`flask tenants oidc …`: a city's OpenID Connect sign-in providers from the command line."""
import json

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.oidc.models import DEFAULT_SCOPES, OidcProvider
from app.oidc.providers import ProviderInvalid, as_dict, save_provider, set_provider_enabled
from tenants.cli import tenants_cli
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.provisioning import actor

oidc_cli = AppGroup("oidc", help="The OpenID Connect sign-in providers of a city.")
tenants_cli.add_command(oidc_cli)


def _fail(message: str):
    raise click.ClickException(message)


def _city(slug: str):
    cities = directory()
    cities.mark_stale()
    tenant = cities.get(slug)
    if tenant is None:
        _fail(f"no city with the slug {slug!r}")
    return tenant


def _find(key: str, slug: str) -> OidcProvider:
    provider = db.session.scalar(sa.select(OidcProvider).where(OidcProvider.key == key))
    if provider is None:
        _fail(f"the city {slug} has no OpenID provider with the key {key!r} "
              f"(see flask tenants oidc list {slug})")
    return provider


def _cli_message(code: str, message: str, values: dict, slug: str) -> str:
    """What `flask tenants oidc add` says (in English) for the first ProviderInvalid code."""
    key, issuer = values.get("key", ""), values["issuer"]
    return {
        "name": "give --name (English) or --name-zh (Chinese), or both, each at most 100 "
                "printable characters",
        "key": f"the key must be 1 to 40 lowercase letters, digits and inner hyphens, not "
               f"{key!r}" + ("" if key else " (give --key: the name has no such characters)"),
        "key_taken": f"the city {slug} already has an OpenID provider with the key {key!r}",
        "issuer": f"the issuer must be an https:// (or http://) URL without query or "
                  f"fragment, not {issuer!r}",
        "issuer_refused": f"the issuer {issuer!r} is refused: {message}",
        "issuer_long": "the issuer URL is longer than 500 characters",
        "client_id": "--client-id must be 1 to 255 characters",
        "client_secret": "the client secret must not be empty",
        "scopes": "--scopes must include openid (and be at most 200 characters)",
    }[code]


def _names(row: dict) -> str:
    return " / ".join(filter(None, (row["name_zh"], row["name"])))


@oidc_cli.command("add")
@click.argument("slug")
@click.option("--name", default="", help="Shown on the button, “Sign in with NAME”, on "
              "English pages (and on Chinese ones without --name-zh).")
@click.option("--name-zh", default="", help="The name on Chinese pages (and on English ones "
              "without --name).")
@click.option("--issuer", required=True,
              help="The provider's issuer URL (its discovery document is at "
                   "ISSUER/.well-known/openid-configuration).")
@click.option("--client-id", required=True, help="The client id the provider gave the city.")
@click.option("--client-secret", prompt=True, hide_input=True,
              help="The client secret (asked for, unechoed, when not given). Stored encrypted.")
@click.option("--key", help="Short name in URLs, e.g. gov-id (default: made from --name).")
@click.option("--scopes", default=DEFAULT_SCOPES, show_default=True,
              help="Scopes to ask for; must include openid.")
def oidc_add(slug, name, name_zh, issuer, client_id, client_secret, key, scopes):
    """Let citizens of the city SLUG sign in with an OpenID Connect provider."""
    tenant = _city(slug)
    with tenant_context(tenant), force_locale("en"):  # the guard's message, in English
        try:
            provider, _changed = save_provider(
                None, actor(), name=name, name_zh=name_zh, issuer=issuer, client_id=client_id,
                scopes=scopes, key=(key or "").strip(), client_secret=client_secret)
        except ProviderInvalid as error:
            field, code = next(iter(error.codes.items()))
            _fail(_cli_message(code, error.errors[field], error.values, slug))
        key, name = provider.key, _names(as_dict(provider))
        issuer, client_id = provider.issuer, provider.client_id
        db.session.commit()
    scheme = "https" if current_app.config["CIVIC_ENV"] == "production" else "http"
    click.echo(f"added the OpenID provider {key} ({name}) to the city {slug}")
    click.echo(f"  issuer        {issuer}")
    click.echo(f"  client id     {client_id}")
    click.echo("  register these redirect URIs at the provider:")
    for domain in tenant.domains:
        click.echo(f"    {scheme}://{domain}/account/login/oidc/{key}/callback")


@oidc_cli.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def oidc_list(slug, as_json):
    """List the city's OpenID providers (never their secrets)."""

    tenant = _city(slug)
    with tenant_context(tenant):
        rows = [as_dict(provider) for provider in db.session.scalars(
            sa.select(OidcProvider).order_by(OidcProvider.key))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"the city {slug} has no OpenID providers: flask tenants oidc add {slug} "
                   "--name NAME --issuer URL --client-id ID")
        return
    for row in rows:
        status = "enabled" if row["enabled"] else "disabled"
        click.echo(f"{row['key']:<20} {status:<9} {_names(row):<24} {row['issuer']}  "
                   f"(client {row['client_id']})")


def _set_enabled(slug: str, key: str, enabled: bool) -> None:
    tenant = _city(slug)
    verb = "enabled" if enabled else "disabled"
    with tenant_context(tenant):
        provider = _find(key, slug)
        if not set_provider_enabled(provider, enabled, actor()):
            _fail(f"the OpenID provider {key} of the city {slug} is already {verb}")
        db.session.commit()
    click.echo(f"{verb} the OpenID provider {key} of the city {slug}")


@oidc_cli.command("disable")
@click.argument("slug")
@click.argument("key")
def oidc_disable(slug, key):
    """Stop offering a provider: its button goes and its sign-in URLs answer 404. The accounts
    linked to it stay (they sign in with it again once it is enabled)."""
    _set_enabled(slug, key, False)


@oidc_cli.command("enable")
@click.argument("slug")
@click.argument("key")
def oidc_enable(slug, key):
    """Offer a disabled provider again."""
    _set_enabled(slug, key, True)
