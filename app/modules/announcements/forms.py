from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField
from wtforms.validators import Optional

from app.web.forms import bilingual_pair


class AnnouncementForm(FlaskForm):
    title, title_zh = bilingual_pair(_l("Title"), 200,
                                     required=_l("Give a title in at least one language."))
    body, body_zh = bilingual_pair(_l("Text"), 20000, multiline=True,
                                   required=_l("Give the text in at least one language."),
                                   hint=_l("Separate paragraphs with an empty line."))
    publish_at = DateTimeLocalField(
        _l("Publish at"), validators=[Optional()], format="%Y-%m-%dT%H:%M",
        description=_l("In the city's time zone. Leave empty to keep it as a draft; a time "
                       "in the future schedules it."))
    pinned = BooleanField(_l("Pin as the site's banner (replaces the pinned one)"))
