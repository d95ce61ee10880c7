"""Service modules: each is a package app/modules/<key>/ whose __init__.py declares, once,
everything it brings: `module = Module(...)` with its names and icon, its per-city settings (a
marshmallow schema with defaults), its citizen and admin blueprints, the banner it may show on
every page, its section of "My account" (with its records of the citizen for "Download my
data", and what it does when a citizen closes their account), what it charges for (payables),
its periodic jobs, its dashboard figures, its demo data, what site search finds in it (its
citizen page's introduction and its own `search`) and its APIs for other systems, if it has
any (`api` at its own prefix, `api_v1` and `staff_api_v1` mounted in the REST API by
app/api). Its tables live in its models.py, in every city schema (enabling a module is
configuration, not DDL).

`discover()` finds them all and wires what they declare: each blueprint answers 404 where the
bound city has not enabled the module; payables go to app.payments, periodic jobs to the job
queue. Citizen pages are registered under /services/<key-with-hyphens>/ by `init_app`; the city
console mounts the admin blueprints under /admin/<key-with-hyphens>/ (app/admin). Each city's
choices live in its `modules` table and apply at once, without a restart.
"""
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache, partial

import marshmallow
import sqlalchemy as sa
from flask import Blueprint, Flask, abort, g, url_for
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.entitlements import current_entitlements
from app.figures import Figure
from app.payments import Payable, register_payable
from app.web.banner import SiteBanner
from tenants.city_cache import cached, reading_request, watch
from tenants.db import db
from tenants.jobs import ask_active_cities, city_task, defer_for_city, platform_task


class CityModule(db.Model):
    """Whether the city offers a module, and its settings for it (validated by the module's
    schema before they are stored)."""

    __tablename__ = "modules"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now())


watch(CityModule.__tablename__)


@dataclass(frozen=True)
class Periodic:
    """A job the module runs every `cron` (UTC) in each active city that has it enabled, as the
    city task `name`; `due()`, if given, is asked first in the city (no job where it says
    there is nothing to do). The sweep that asks the cities is the platform task
    `<name>_all`."""
    name: str
    cron: str
    run: Callable[[], object]
    due: Callable[[], bool] | None = None
    queue: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """One result of the citizen site's search: a page of the city, in the page's language."""
    title: str
    url: str
    excerpt: str = ""


@dataclass(frozen=True)
class Module:
    key: str
    name: str  # lazy_gettext: shown in the city's language
    description: str  # one line, lazy_gettext
    introduction: str = ""  # lazy_gettext: its citizen page's opening paragraph (also searched)
    icon: str = "service"  # a symbol of static/icons.svg
    settings: type[marshmallow.Schema] | None = None
    citizen: Blueprint | None = None  # its `index` view is the home page's card
    admin: Blueprint | None = None  # mounted in the city console at /admin/<slug>/
    citizen_prefix: str | None = None  # default /services/<key-with-hyphens>
    api: Blueprint | None = None  # for other systems, at its own url_prefix (e.g. Open311)
    api_v1: Blueprint | None = None  # its resources of the REST API (an app.rest.ApiBlueprint)
    staff_api_v1: Blueprint | None = None  # its staff resources of the REST API, the same way
    banner: Callable[[], SiteBanner | None] | None = None  # on top of every city page
    account_section: str | None = None  # a template that "My account" includes
    # The citizen's records in it for "Download my data": (user) -> JSON-able rows (to_json).
    personal_data: Callable[[object], list[dict]] | None = None
    # What it does, in the closing transaction, when a citizen closes their account: (user,
    # the audit log's actor), before the account's contact data is removed.
    on_account_closed: Callable[[object, str], None] | None = None
    payables: tuple[Payable, ...] = ()  # what it charges for, through app.payments
    periodic: tuple[Periodic, ...] = ()
    figures: tuple[Figure, ...] = ()  # shown on the admin dashboard
    demo: Callable[[str], None] | None = None  # adds a demo city's data (`flask demo`)
    # What site search finds in its own tables: (text, limit, offset) -> hits, text literal.
    search: Callable[[str, int, int], list[SearchHit]] | None = None
    order: int = 100

    @property
    def slug(self) -> str:
        return self.key.replace("_", "-")

    @property
    def index_url(self) -> str:
        """Where its card on the home page leads."""
        return url_for(f"{self.citizen.name}.index")


def to_json(row, *fields: str) -> dict:
    """`fields` of `row` as JSON-able values: dates and times in ISO 8601, decimals as text."""
    def value(name):
        found = getattr(row, name)
        if isinstance(found, date | datetime):
            return found.isoformat()
        return str(found) if isinstance(found, Decimal) else found
    return {name: value(name) for name in fields}


class ModuleError(Exception):
    """A module change that can't be made; `errors` maps "key.field" to messages (or, for a
    list of entries, to {entry's index: {its field: messages}}, as marshmallow gives them)."""

    def __init__(self, errors: dict[str, list[str] | dict]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {_one_line(messages)}"
                                   for name, messages in errors.items()))


def _one_line(messages) -> str:
    """Messages, nested ones after where they are ("1: name: At most 200 characters.")."""
    if isinstance(messages, dict):
        return " ".join(f"{key}: {_one_line(inner)}" for key, inner in messages.items())
    if isinstance(messages, list | tuple):
        return " ".join(map(_one_line, messages))
    return str(messages)


@cache
def discover() -> dict[str, Module]:
    """Every module under app/modules, by key (imported and wired once per process)."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            package = importlib.import_module(f"{__name__}.{info.name}")
            module = getattr(package, "module", None)
            if isinstance(module, Module):
                if module.key != info.name:
                    raise RuntimeError(f"app/modules/{info.name} declares the key {module.key!r}")
                _wire(module)
                found[module.key] = module
    return found


def _wire(module: Module) -> None:
    """Once per process: the module's pages answer 404 where it is not enabled, its payables
    are chargeable only there, and its periodic jobs run only there."""
    def only_where_enabled():
        if g.get("tenant") is None or not is_enabled(module.key):
            abort(404)

    for blueprint in (module.citizen, module.admin, module.api, module.api_v1,
                      module.staff_api_v1):
        if blueprint is not None:
            blueprint.before_request(only_where_enabled)
    enabled = partial(is_enabled, module.key)
    for payable in module.payables:
        register_payable(replace(payable, module=module.key, available=enabled))
    for job in module.periodic:
        city_task(job.name, **_queue(job))(job.run)
        due = (lambda job=job: enabled() and job.due()) if job.due else enabled
        platform_task(f"{job.name}_all", cron=job.cron, **_queue(job))(
            partial(ask_active_cities, due, partial(defer_for_city, job.name)))


def _queue(job: Periodic) -> dict:
    return {"queue": job.queue} if job.queue else {}


# -- one city's choices (the bound city) ---------------------------------------------------------

def _read_city_states(shared: bool) -> dict[str, CityModule]:
    rows = list(db.session.scalars(sa.select(CityModule)))
    if shared:  # out of the session: every GET of this process shares them
        for row in rows:
            db.session.expunge(row)
    return {row.key: row for row in rows}


def city_states() -> dict[str, CityModule]:
    """The bound city's rows of its `modules` table, read once per request or job; by a GET
    from the city cache (tenants/city_cache.py: never change them there)."""
    if "city_modules" not in g:
        g.city_modules = (dict(cached("modules", partial(_read_city_states, True)))
                          if reading_request() else _read_city_states(False))
    return g.city_modules


def is_enabled(key: str) -> bool:
    state = city_states().get(key)
    return state is not None and state.enabled


def module_choices() -> list[tuple[str, str]]:
    """Every module as a form's choice (key, name), in the modules' order."""
    return [(module.key, str(module.name)) for module in
            sorted(discover().values(), key=lambda m: (m.order, m.key))]


def enabled_modules() -> list[Module]:
    return sorted((m for m in discover().values() if is_enabled(m.key)),
                  key=lambda m: (m.order, m.key))


def settings_of(key: str) -> dict:
    """The city's settings of a module, with the schema's defaults filled in."""
    module = discover()[key]
    stored = city_states().get(key)
    return module.settings().load(stored.settings if stored else {}) if module.settings else {}


def outside_plan(key: str) -> bool:
    """Whether enabling the module `key` is outside the bound city's plan (a module enabled
    before the plan changed may stay enabled)."""
    return not current_entitlements().allows(key) and not is_enabled(key)


def configure(enable=(), disable=(), values: dict[str, dict] | None = None) -> dict:
    """Change the bound city's modules in the current transaction; returns {key: (before,
    after)} of what changed. Raises ModuleError (and changes nothing) on any bad input."""
    modules, values = discover(), values or {}
    errors = {key: ["no such module"] for key in (*enable, *disable, *values)
              if key not in modules}
    errors.update({key: ["both enabled and disabled"] for key in set(enable) & set(disable)})
    errors.update({key: ["not included in the city's plan"] for key in enable
                   if key in modules and key not in errors and outside_plan(key)})
    if errors:
        raise ModuleError(errors)
    keys = sorted(set(enable) | set(disable) | set(values))
    # Lock the rows this change reads, so two people saving at once don't lose an update.
    locked = db.session.scalars(sa.select(CityModule).where(CityModule.key.in_(keys))
                                .with_for_update().execution_options(populate_existing=True))
    city_states().update({row.key: row for row in locked})
    changes = {}
    for key in keys:
        module, state = modules[key], city_states().get(key)
        before = {"enabled": bool(state and state.enabled),
                  "settings": settings_of(key) if module.settings else {}}
        merged = {**(state.settings if state else {}), **values.get(key, {})}
        if module.settings:
            try:
                settings = module.settings().load(merged)
            except marshmallow.ValidationError as error:
                errors.update({f"{key}.{name}": messages
                               for name, messages in error.normalized_messages().items()})
                continue
            merged = module.settings().dump(settings)
        elif values.get(key):
            errors[key] = ["this module has no settings"]
            continue
        enabled = key in enable or (before["enabled"] and key not in disable)
        after = {"enabled": enabled, "settings": merged}
        if state is None:
            state = CityModule(key=key)
            db.session.add(state)
            city_states()[key] = state
        state.enabled, state.settings = enabled, merged
        if before != after:
            changes[key] = (before, after)
    if errors:
        raise ModuleError(errors)
    return changes


# -- wiring ----------------------------------------------------------------------------------------

def introduction_of(key: str) -> str:
    """Templates' `module_introduction(key)`: the module's introduction, declared once."""
    return discover()[key].introduction


def init_app(app: Flask) -> None:
    """Register every module's citizen blueprint, and its API's at the API's own url_prefix
    (the city console registers the admin ones)."""
    app.add_template_global(introduction_of, "module_introduction")
    for module in discover().values():
        if module.citizen is not None:
            app.register_blueprint(module.citizen,
                                   url_prefix=module.citizen_prefix or f"/services/{module.slug}")
        if module.api is not None:
            app.register_blueprint(module.api)
