"""The console's pages: sign-in and second factor (app.staff.permissions.CityConsoleSignIn),
home, staff, invitations, audit log."""
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import accounts, audit
from app.accounts import InvalidLink
from app.accounts.models import User
from app.admin.blueprint import bp
from app.admin.forms import InviteForm, NewAccountForm, StaffRoleForm
from app.audit.forms import AuditFilterForm
from app.extensions import limiter
from app.modules import enabled_modules
from app.spreadsheets.export import csv_download
from app.staff import invitations, role_label, staff_second_factor
from app.staff.models import ADMIN, StaffInvitation, StaffMember
from app.staff.permissions import (
    MANAGE_STAFF,
    VIEW,
    can,
    city_console,
    current_staff,
    staff_required,
)
from app.staff.seats import NoStaffSeatLeft, check_staff_seat
from app.web.forms import INVALID_FORM, form_status
from app.web.pagination import requested_page
from tenants.context import current_tenant
from tenants.db import db

city_console.add_routes(bp)  # /admin/login, /admin/2fa, /admin/2fa/setup, /admin/logout


def _me() -> str:
    return audit.actor_of(current_user)


# -- home ----------------------------------------------------------------------------------------

@bp.get("/")
@staff_required(VIEW)
def home():
    staff = current_staff()
    modules = [m for m in enabled_modules() if can(staff, VIEW, m.key)]
    links = [(m, url_for(f"admin.{m.admin.name}.index") if m.admin is not None else None)
             for m in modules]
    return render_template("admin/home.html", modules=links,
                           recovery_left=staff_second_factor.recovery_codes_left(staff))


# -- staff ---------------------------------------------------------------------------------------

def _active_admins() -> int:
    return db.session.scalar(sa.select(sa.func.count(StaffMember.id)).where(
        StaffMember.role == ADMIN, StaffMember.active))


def _leaves_no_admin(member: StaffMember, role: str, active: bool) -> bool:
    """Whether the change would leave the city without an active administrator."""
    was_admin = member.role == ADMIN and member.active
    return was_admin and not (role == ADMIN and active) and _active_admins() <= 1


def _member(staff_id: int) -> StaffMember:
    member = db.session.scalar(sa.select(StaffMember).where(StaffMember.id == staff_id)
                               .with_for_update(of=StaffMember))
    if member is None:
        abort(404)
    return member


@bp.get("/staff")
@staff_required(MANAGE_STAFF)
def staff_list():
    members = db.session.scalars(sa.select(StaffMember).join(StaffMember.user).order_by(
        StaffMember.active.desc(), User.email, StaffMember.id)).all()
    pending = db.session.scalars(invitations.open_invitations().order_by(
        StaffInvitation.created_at.desc()).limit(100)).all()
    return render_template("admin/staff/list.html", members=members, pending=pending)


@bp.route("/staff/invite", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def staff_invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return render_template("admin/staff/invite.html", form=form), form_status(form)
    try:
        invitations.invite(form.email.data, form.role.data, form.chosen_modules, _me())
    except NoStaffSeatLeft as error:
        db.session.rollback()
        form.email.errors.append(_("Your plan has %(seats)d staff seats, and all are taken by "
                                   "staff members and open invitations. Deactivate someone, or "
                                   "ask CivicCloud for a larger plan.", seats=error.seats))
        return render_template("admin/staff/invite.html", form=form), INVALID_FORM
    db.session.commit()
    flash(_("We sent an invitation to %(email)s. The link works for 7 days, once.",
            email=accounts.normalize_email(form.email.data)), "success")
    return redirect(url_for("admin.staff_list"))


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def staff_member(staff_id):
    member = _member(staff_id) if request.method == "POST" else db.session.get(
        StaffMember, staff_id)
    if member is None:
        abort(404)
    form = StaffRoleForm(obj=member)
    if form.validate_on_submit():
        if _leaves_no_admin(member, form.role.data, member.active):
            form.role.errors.append(_("You are the last city administrator: make someone else "
                                      "an administrator first."))
        else:
            before = member.snapshot()
            member.role, member.modules = form.role.data, form.chosen_modules
            if member.snapshot() != before:
                audit.record(_me(), "staff.update", f"staff:{member.id}", before,
                             member.snapshot())
                db.session.commit()
                flash(_("The role of %(name)s is saved.", name=member.user.name), "success")
            return redirect(url_for("admin.staff_list"))
    db.session.rollback()
    return render_template("admin/staff/member.html", form=form, member=member), (
        form_status(form))


def _set_active(staff_id: int, active: bool):
    if not FlaskForm().validate_on_submit():
        abort(400)
    member = _member(staff_id)
    if member.active == active:
        return redirect(url_for("admin.staff_member", staff_id=member.id))
    if _leaves_no_admin(member, member.role, active):
        db.session.rollback()
        flash(_("You are the last city administrator: make someone else an administrator "
                "first."), "error")
        return redirect(url_for("admin.staff_member", staff_id=member.id))
    try:
        if active:
            check_staff_seat()
    except NoStaffSeatLeft as error:
        db.session.rollback()
        flash(_("Your plan has %(seats)d staff seats, and all are taken by staff members and "
                "open invitations.", seats=error.seats), "error")
        return redirect(url_for("admin.staff_member", staff_id=member.id))
    before = member.snapshot()
    member.active = active
    if not active:  # signed out everywhere at once, not at their next page
        accounts.sign_ins.end_all(member.user_id)
    audit.record(_me(), "staff.reactivate" if active else "staff.deactivate",
                 f"staff:{member.id}", before, member.snapshot())
    db.session.commit()
    flash(_("%(name)s can use the console again.", name=member.user.name) if active else
          _("%(name)s can no longer use the console.", name=member.user.name), "success")
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:staff_id>/second-factor/reset")
@staff_required(MANAGE_STAFF)
def staff_reset_second_factor(staff_id):
    """A staff member lost their phone and recovery codes: their second factor goes, they are
    signed out everywhere and set it up again at their next sign-in."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    member = _member(staff_id)
    if member.id == current_staff().id:
        db.session.rollback()
        flash(_("You can't reset your own second factor: make new recovery codes, or ask "
                "another administrator."), "error")
        return redirect(url_for("admin.staff_member", staff_id=member.id))
    staff_second_factor.reset(member)
    ended = accounts.sign_ins.end_all(member.user_id)
    audit.record(_me(), "staff.second_factor_reset", f"staff:{member.id}", None,
                 {"sessions_ended": ended})
    db.session.commit()
    flash(_("The second factor of %(name)s is reset: they set up a new one when they next "
            "sign in.", name=member.user.name), "success")
    return redirect(url_for("admin.staff_member", staff_id=member.id))


@bp.post("/staff/invitations/<int:invitation_id>/revoke")
@staff_required(MANAGE_STAFF)
def staff_revoke_invitation(invitation_id):
    if not FlaskForm().validate_on_submit():
        abort(400)
    invitation = db.session.get(StaffInvitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.accepted_at is not None:
        abort(404)
    if invitation.revoked_at is None:
        invitations.revoke(invitation, _me())
        db.session.commit()
    flash(_("The invitation of %(email)s is revoked: its link no longer works.",
            email=invitation.email), "success")
    return redirect(url_for("admin.staff_list"))


@bp.post("/staff/<int:staff_id>/deactivate")
@staff_required(MANAGE_STAFF)
def staff_deactivate(staff_id):
    return _set_active(staff_id, False)


@bp.post("/staff/<int:staff_id>/reactivate")
@staff_required(MANAGE_STAFF)
def staff_reactivate(staff_id):
    return _set_active(staff_id, True)


# -- invitations ---------------------------------------------------------------------------------

@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def invitation(token):
    try:
        invited = invitations.invitation_for(token, lock=request.method == "POST")
    except InvalidLink:
        db.session.rollback()
        return render_template("admin/invitation_invalid.html"), 400
    user = accounts.find_user(invited.email)
    if user is None:
        form = NewAccountForm()
        if not form.validate_on_submit():
            db.session.rollback()
            return render_template("admin/invitation_new.html", form=form, invited=invited), (
                form_status(form))
        user = User(email=invited.email, display_name=form.display_name.data.strip(),
                    password_hash=accounts.hash_password(form.password.data),
                    locale=current_tenant().locale, email_verified_at=datetime.now(UTC))
        db.session.add(user)
        db.session.flush()
        audit.record(audit.actor_of(user), "staff.account_created", f"user:{user.id}", None,
                     {"email": user.email, "invitation": invited.id})
        invitations.accept(invited, user)
        db.session.commit()
        city_console.begin(user)
        flash(_("Your account is ready. Now set up your second factor."), "success")
        return redirect(url_for("admin.setup_second_factor"))
    if not current_user.is_authenticated or current_user.id != user.id:
        db.session.rollback()
        return render_template("admin/invitation_sign_in.html", invited=invited, token=token)
    form = FlaskForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return render_template("admin/invitation_accept.html", form=form, invited=invited)
    invitations.accept(invited, user)
    db.session.commit()
    flash(_("You are now on the staff as %(role)s.", role=_role(invited.role)), "success")
    return redirect(url_for("admin.home"))


def _role(role: str) -> str:
    return role_label(role)


# -- audit log -----------------------------------------------------------------------------------

def _audit_query():
    form = AuditFilterForm(request.args)
    valid = form.validate()
    if not valid:
        return form, None
    return form, audit.search(form.actor.data, form.action.data, form.date_from.data,
                              form.date_to.data)


@bp.get("/audit")
@staff_required(VIEW)
def audit_log():
    form, query = _audit_query()
    page = requested_page(audit.PAGE_SIZE)
    entries, more = [], False
    if query is not None:
        rows = db.session.scalars(query.offset((page - 1) * audit.PAGE_SIZE)
                                  .limit(audit.PAGE_SIZE + 1)).all()
        entries, more = rows[:audit.PAGE_SIZE], len(rows) > audit.PAGE_SIZE
    filters = {key: value for key, value in request.args.items()
               if key in ("actor", "action", "date_from", "date_to") and value}
    return render_template("admin/audit.html", form=form, entries=entries, page=page, more=more,
                           filters=filters), (200 if query is not None else INVALID_FORM)


@bp.get("/audit.csv")
@staff_required(VIEW)
def audit_csv():
    form, query = _audit_query()
    if query is None:
        abort(400)
    rows = db.session.scalars(query.limit(audit.CSV_LIMIT))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return csv_download(f"audit-{current_tenant().slug}-{stamp}.csv", audit.CSV_HEADER,
                        audit.csv_rows(rows))
