from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class AnnouncementForm(FlaskForm):
    title = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    title_zh = StringField(_l("Title (Chinese)"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Text (English)"), validators=[Optional(), Length(max=20000)],
                         description=_l("Separate paragraphs with an empty line."))
    body_zh = TextAreaField(_l("Text (Chinese)"), validators=[Optional(), Length(max=20000)])
    publish_at = DateTimeLocalField(
        _l("Publish at"), validators=[Optional()], format="%Y-%m-%dT%H:%M",
        description=_l("In the city's time zone. Leave empty to keep it as a draft; a time "
                       "in the future schedules it."))
    pinned = BooleanField(_l("Pin as the site's banner (replaces the pinned one)"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.title.data or "").strip() and not (self.title_zh.data or "").strip():
            self.title.errors.append(_l("Give a title in at least one language."))
            valid = False
        if not (self.body.data or "").strip() and not (self.body_zh.data or "").strip():
            self.body.errors.append(_l("Give the text in at least one language."))
            valid = False
        return valid
