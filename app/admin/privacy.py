"""The console's privacy notice page (/admin/privacy): the notice's Chinese and English texts
side by side; saving publishes them as a new version (with its audit entry), which new
registrations then accept. Every earlier version stays listed, as citizens accepted it.
City administrators only, like the branding page."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app import audit
from app.admin.blueprint import bp
from app.privacy import PrivacyError
from app.privacy.notice import (
    BODY_MAX,
    current_notice,
    earlier_versions,
    publish_notice,
)
from app.staff.permissions import MANAGE_STAFF, staff_required
from app.web.forms import INVALID_FORM


def _body_field(label, message, lang):
    hint = _l("Plain text; a blank line starts a new paragraph. At most %(count)d characters.",
              count=BODY_MAX)
    return TextAreaField(label, filters=[lambda value: (value or "").strip()], validators=[
        DataRequired(message), Length(max=BODY_MAX)], description=hint,
        render_kw={"rows": 24, "lang": lang})


class PrivacyNoticeForm(FlaskForm):
    body_zh = _body_field(_l("Notice in Chinese"), _l("Enter the notice in Chinese."), "zh-Hans")
    body_en = _body_field(_l("Notice in English"), _l("Enter the notice in English."), "en")


@bp.route("/privacy", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def privacy_edit():
    notice = current_notice()
    form = PrivacyNoticeForm(data={"body_zh": notice.body_zh, "body_en": notice.body_en})
    status = 200
    if form.is_submitted():
        form = PrivacyNoticeForm()
        if form.validate():
            try:
                version = publish_notice(form.body_zh.data, form.body_en.data,
                                         audit.actor_of(current_user))
            except PrivacyError as error:
                form.form_errors.append(str(error))
            else:
                flash(_("Version %(version)d of the privacy notice is published; new "
                        "registrations accept it.", version=version) if version else
                      _("Nothing was changed."), "success")
                return redirect(url_for("admin.privacy_edit"))
        status = INVALID_FORM
    return render_template("admin/privacy/edit.html", form=form, notice=notice,
                           versions=earlier_versions()), status
