"""Site search (/search?q=): the city's enabled services (name, description, introduction) and
what the enabled modules find in their own tables (announcements …), in the page's language,
the text matched literally as a substring (PostgreSQL's text search doesn't segment Chinese)."""
from flask import render_template, request

from app.citizen.blueprint import bp
from app.citizen.forms import SiteSearchForm
from app.citizen.views import enabled_services
from app.modules import Module, SearchHit, enabled_modules
from app.web.pagination import requested_page

PAGE_SIZE = 10  # hits of each module's group on a page


def _contains(text: str, needle: str) -> bool:
    return needle.casefold() in str(text).casefold()


def _service_hit(module: Module) -> SearchHit:
    return SearchHit(title=str(module.name), url=module.index_url,
                     excerpt=str(module.description))


@bp.get("/search")
def search():
    form = SiteSearchForm(request.args)
    text = (form.q.data or "").strip()
    if not form.validate() or not text:
        return render_template("citizen/search.html", form=form, text="", services=[],
                               help_texts=[], groups=[], page=1, has_next=False), \
            400 if form.errors else 200
    page = requested_page(PAGE_SIZE)
    services, help_texts = [], []
    if page == 1:  # a few at most (one per module): all on the first page
        services = [_service_hit(module) for module in enabled_services()
                    if _contains(module.name, text) or _contains(module.description, text)]
        help_texts = [SearchHit(title=str(module.name), url=module.index_url,
                                excerpt=str(module.introduction))
                      for module in enabled_services()
                      if module.introduction and _contains(module.introduction, text)]
    groups, has_next = [], False
    for module in enabled_modules():
        if module.search is not None:
            hits = module.search(text, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
            has_next = has_next or len(hits) > PAGE_SIZE
            if hits:
                groups.append((module, hits[:PAGE_SIZE]))
    return render_template("citizen/search.html", form=form, text=text, services=services,
                           help_texts=help_texts, groups=groups, page=page, has_next=has_next)
