"""The platform console in Chinese shows no English (and the English one no Chinese). The audit
entries' details are data as recorded (a city's Chinese name, say), shown as JSON, not text of
the page: they are left out."""
import re

from tests.app.i18n.test_i18n import chinese_left_on, english_left_on
from tests.app.platform.conftest import PLATFORM, post_platform

PAGES = ["/console/", "/console/cities/alpha", "/console/cities/alpha/suspend",
         "/console/cities/alpha/impersonate", "/console/cities/new", "/console/plans",
         "/console/plans/new", "/console/audit?city=alpha"]


def test_the_console_speaks_chinese_and_english(client, cities, vendor_admin):
    post_platform(client, "/console/plans/new", {"key": "i18n", "name_zh": "基础",
                                                 "name": "Basic", "modules": ["announcements"]})
    client.get("/console/plans", headers=PLATFORM)  # shows the flash message, in English
    for language, lang, left_over in (("zh_Hans", "zh-Hans", english_left_on),
                                      ("en", "en", chinese_left_on)):
        client.get(f"/language/{language}?next=/console/", headers=PLATFORM)
        for path in PAGES:
            page = client.get(path, headers=PLATFORM)
            body = page.get_data(as_text=True)
            assert page.status_code == 200 and f'<html lang="{lang}">' in body, path
            text = re.sub(r'<code class="json">.*?</code>', "", body, flags=re.S)
            assert left_over(text) == [], (path, left_over(text))
