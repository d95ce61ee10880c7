"""`flask demo`: the demo cities, each with its own names, domains and colours. Idempotent."""
import os

import click

from app.models import Branding
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant

DEMO_CITIES = [
    {"slug": "lishui", "name": "Lishui", "name_zh": "丽水市", "domains": ["lishui.localhost"],
     "primary_color": "#1b5e20", "accent_color": "#f9a825",
     "tagline": "Green mountains, clear waters", "tagline_zh": "绿水青山 · 丽水"},
    {"slug": "beijing", "name": "Beijing", "name_zh": "北京市", "domains": ["beijing.localhost"],
     "primary_color": "#9b1b1f", "accent_color": "#d4a017",
     "tagline": "Services for the capital", "tagline_zh": "首都政务服务"},
    {"slug": "shenzhen", "name": "Shenzhen", "name_zh": "深圳市",
     "domains": ["shenzhen.localhost"], "locale": "en",
     "primary_color": "#0b4f8a", "accent_color": "#00a3a1",
     "tagline": "One city, one online counter", "tagline_zh": "一网通办 · 深圳"},
]


@click.command("demo")
def demo_command():
    """Provision the demo cities that don't exist yet (lishui, beijing, shenzhen)."""
    port = os.environ.get("PORT", "5000")
    for city in DEMO_CITIES:
        if directory().get(city["slug"]) is not None:
            click.echo(f"{city['slug']}: exists, kept")
            continue
        tenant = create_tenant(city["slug"], city["name"], city["domains"],
                               name_zh=city["name_zh"], locale=city.get("locale", "zh_Hans"))
        with tenant_context(tenant):
            db.session.add(Branding(id=1, primary_color=city["primary_color"],
                                    accent_color=city["accent_color"], tagline=city["tagline"],
                                    tagline_zh=city["tagline_zh"]))
            db.session.commit()
        click.echo(f"{tenant.slug}: created at http://{tenant.domains[0]}:{port}/")
