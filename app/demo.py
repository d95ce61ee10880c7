"""`flask demo`: the demo cities, each with its own names, domains, colours, logo, hero pattern
and contact details, so that they look clearly different. Idempotent: a city that exists is
kept as it is."""

import click
from flask import current_app
from flask.cli import with_appcontext

from app.branding.change import BrandingChange, apply_branding
from app.images import read_image
from app.modules import configure, enabled_modules
from app.payments.merchant import configure as payment_settings
from app.payments.models import SANDBOX
from app.web.links import base_url
from tenants.context import directory, tenant_context
from tenants.db import db
from tenants.provisioning import create_tenant

# Simple emblems, drawn for the demo (they go through the same sanitiser as any upload).
LISHUI_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <title>Lishui</title>
  <circle cx="32" cy="32" r="30" fill="#1b5e20"/>
  <circle cx="44" cy="20" r="6" fill="#f9a825"/>
  <path d="M6 42 20 22l9 12 7-8 22 16v4H6z" fill="#a5d6a7"/>
  <path d="M6 42 20 30l10 10 8-6 20 8v4H6z" fill="#43a047"/>
  <path d="M8 48c8-4 16 4 24 0s16-4 24 0v2c-8-4-16 4-24 0s-16-4-24 0z" fill="#e3f2fd"/>
  <path d="M12 54c7-3 13 3 20 0s13-3 20 0v2c-7-3-13 3-20 0s-13-3-20 0z" fill="#bbdefb"/>
</svg>"""

BEIJING_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <title>Beijing</title>
  <rect x="2" y="2" width="60" height="60" rx="10" fill="#9b1b1f"/>
  <path d="M10 24h44l-6-7H16z" fill="#d4a017"/>
  <path d="M8 24h48v3H8z" fill="#f2d27a"/>
  <path d="M14 27h36v6H14z" fill="#d4a017"/>
  <path d="M16 33h32v17H16z" fill="#c62828"/>
  <path d="M21 37h4v13h-4zM30 37h4v13h-4zM39 37h4v13h-4z" fill="#f2d27a"/>
  <path d="M10 50h44v4H10z" fill="#d4a017"/>
</svg>"""

SHENZHEN_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <title>Shenzhen</title>
  <rect x="2" y="2" width="60" height="60" rx="30" fill="#0b4f8a"/>
  <path d="M14 44V26h6v18zM22 44V14h7v30zM31 44V20h6v24zM39 44V30h5v14zM46 44V24h5v20z"
        fill="#4dd0e1"/>
  <path d="M24 18h3M24 22h3M24 26h3M24 30h3M33 24h2M33 28h2" stroke="#0b4f8a" stroke-width="1.5"/>
  <path d="M6 46c6-3 10 3 16 0s10-3 16 0 10 3 16 0 6 0 6 0v4
           c-6 3-10-3-16 0s-10 3-16 0-10-3-16 0-6 0-6 0z" fill="#ffffff"/>
</svg>"""

DEMO_CITIES = [
    {"slug": "lishui", "name": "Lishui", "name_zh": "丽水市", "domains": ["lishui.localhost"],
     "logo": LISHUI_LOGO,
     "branding": {
         "primary_color": "#1b5e20", "accent_color": "#f9a825", "hero_pattern": "hills",
         "texts": {
             "tagline": "Green mountains, clear waters", "tagline_zh": "绿水青山 · 丽水",
             "contact_address": "1 Huayuan Road, Liandu District, Lishui, Zhejiang",
             "contact_address_zh": "浙江省丽水市莲都区花园路1号",
             "contact_phone": "0578-2012345", "contact_email": "service@lishui.example",
             "opening_hours": "Monday to Friday, 9:00–17:00",
             "opening_hours_zh": "周一至周五 9:00–17:00"}}},
    {"slug": "beijing", "name": "Beijing", "name_zh": "北京市", "domains": ["beijing.localhost"],
     "logo": BEIJING_LOGO,
     "branding": {
         "primary_color": "#9b1b1f", "accent_color": "#d4a017", "hero_pattern": "grid",
         "texts": {
             "tagline": "Services for the capital", "tagline_zh": "首都政务服务",
             "contact_address": "1 Civic Centre Road, Tongzhou District, Beijing",
             "contact_address_zh": "北京市通州区市民中心路1号",
             "contact_phone": "12345", "contact_email": "service@beijing.example",
             "opening_hours": "Monday to Saturday, 8:30–18:00",
             "opening_hours_zh": "周一至周六 8:30–18:00"}}},
    {"slug": "shenzhen", "name": "Shenzhen", "name_zh": "深圳市",
     "domains": ["shenzhen.localhost"], "locale": "en", "logo": SHENZHEN_LOGO,
     "branding": {
         "primary_color": "#0b4f8a", "accent_color": "#4dd0e1", "hero_pattern": "waves",
         "texts": {
             "tagline": "One city, one online counter", "tagline_zh": "一网通办 · 深圳",
             "contact_address": "Civic Centre, Fuzhong 3rd Road, Futian District, Shenzhen",
             "contact_address_zh": "深圳市福田区福中三路市民中心",
             "contact_phone": "0755-12345", "contact_email": "service@shenzhen.example",
             "opening_hours": "Every day, 9:00–21:00",
             "opening_hours_zh": "每天 9:00–21:00"}}},
]


def demo_branding(city: dict) -> BrandingChange:
    return BrandingChange(**city["branding"], logo=read_image(city["logo"].encode(), "logo"))


# The demo cities offer different modules; each adds its own demo data (Module.demo).
DEMO_MODULES = {"lishui": ("announcements", "passports", "traffic_fines", "utility_bills",
                           "appointments", "service_requests"),
                "beijing": ("announcements", "appointments"),
                "shenzhen": ("passports", "traffic_fines")}

@click.command("demo")
@with_appcontext
def demo_command():
    """Provision the demo cities that don't exist yet (lishui, beijing, shenzhen)."""
    for city in DEMO_CITIES:
        if directory().get(city["slug"]) is not None:
            click.echo(f"{city['slug']}: exists, kept")
            continue
        tenant = create_tenant(city["slug"], city["name"], city["domains"],
                               name_zh=city["name_zh"], locale=city.get("locale", "zh_Hans"))
        apply_branding(tenant, demo_branding(city), actor="demo")
        with tenant_context(tenant):
            configure(enable=list(DEMO_MODULES.get(tenant.slug, ())))
            for module in enabled_modules():
                if module.demo is not None:
                    module.demo(tenant.slug)
            payment_settings(provider=SANDBOX)  # the built-in sandbox: no money moves
            db.session.commit()
        click.echo(f"{tenant.slug}: created at {base_url(tenant.domains[0])}/")
    # No vendor staff account is made here: it would need a password in the code.
    click.echo(f"Platform console: {base_url(current_app.config['PLATFORM_HOST'])}/console/"
               " — make your account with: flask platform create-staff YOU@EXAMPLE.COM")
