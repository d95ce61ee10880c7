"""The city's privacy notice (/privacy): its current version, in the page's language, linked
from every footer and from the registration form's consent box. An account that has accepted
none (made through a sign-in provider, or by a staff invitation) is asked to accept it on its
first signed-in page of the city's site (/privacy/accept), which records the version and the
time as registration does."""
from datetime import UTC, datetime

from flask import g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.citizen.blueprint import bp
from app.citizen.forms import ConsentForm
from app.impersonation import current_impersonation
from app.modules import discover
from app.privacy.notice import current_notice
from app.web.forms import form_status
from app.web.navigation import current_path, next_path
from tenants.db import db

# Pages an account that has not accepted the notice may still open: the notice, the
# question itself, the language switcher, signing in (also as someone else) and confirming an
# address, and its rights (its data, closing it).
WITHOUT_CONSENT = {"citizen.privacy", "citizen.accept_privacy", "citizen.set_language",
                   "citizen.login", "citizen.oidc_login", "citizen.oidc_callback",
                   "citizen.register", "citizen.verify_email", "citizen.forgot_password",
                   "citizen.reset_password", "citizen.reset_password_by_code",
                   "citizen.download_data", "citizen.close_account"}


@bp.get("/privacy")
def privacy():
    return render_template("citizen/privacy.html", notice=current_notice())


def _site_blueprints() -> set[str]:
    """The blueprints of the city's citizen pages (not the console's, the API's or the
    payment provider's round trip)."""
    return {"citizen"} | {module.citizen.name for module in discover().values()
                          if module.citizen is not None}


@bp.before_app_request
def ask_for_consent():
    """A GET of a citizen page by an account that has accepted no notice goes to the question
    first (and comes back after); a support session is never asked."""
    if (request.method == "GET" and g.get("tenant") is not None
            and current_user.is_authenticated and current_user.privacy_version is None
            and request.blueprint in _site_blueprints()
            and request.endpoint not in WITHOUT_CONSENT and current_impersonation() is None):
        return redirect(url_for("citizen.accept_privacy", next=current_path()))
    return None


@bp.route("/privacy/accept", methods=["GET", "POST"])
@login_required
def accept_privacy():
    if current_user.privacy_version is not None:
        return redirect(next_path("citizen.account"))
    form, notice = ConsentForm(), current_notice()
    if not form.validate_on_submit() or not form.accepted(notice.version):
        return render_template("citizen/account/accept_privacy.html", form=form,
                               notice=notice), form_status(form)
    current_user.privacy_version = notice.version
    current_user.privacy_accepted_at = datetime.now(UTC)
    db.session.commit()
    return redirect(next_path("citizen.account"))
