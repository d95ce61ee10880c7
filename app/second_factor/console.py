"""Signing in to a staff console — a city's administration (/admin) and the vendor's platform
console (/console) alike: the password, then the second factor (set up on the first sign-in,
with recovery codes shown once), and signing out.

`ConsoleSignIn` holds the pages and their rules once; each console subclasses it with where
its staff accounts live (how a password is checked, what the session keeps, how the audit log
names a step) and calls `add_routes(blueprint)`. Its gate (`gate`) is what every page of the
console runs first. Each sign-in is a server-side row (app/accounts/sessions.py) that records
when it passed the second factor. Attempts are throttled per (account, client), per account and
per address (password) and per account (codes), counting failures only.
"""
from collections.abc import Callable
from functools import wraps

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.accounts.throttle import sign_in_throttle, typed_identifier
from app.extensions import limiter
from app.second_factor import (
    RECOVERY_CODE,
    SecondFactor,
    enrolment,
    matching_step,
    pending_secret,
)
from app.second_factor.forms import CodeForm, SecondFactorForm
from app.web.forms import form_status
from app.web.navigation import current_path, next_path
from tenants.db import db

SIGN_IN, ENROLLED, VERIFIED = "signed_in", "enrolled", "verified"  # the gate's stages
FAILED = 401


def _failed(response) -> bool:
    return response.status_code == FAILED


class ConsoleSignIn:
    """The sign-in pages of one console. Subclasses set the class attributes and implement the
    methods that raise NotImplementedError."""

    blueprint: str  # the console's blueprint ("admin", "platform")
    path: str = ""  # the pages' path in the blueprint ("/console" on the platform host)
    templates: str  # the folder of its login, second_factor, setup, recovery_codes templates
    home: str  # the endpoint a signed-in staff member goes to by default
    factor: SecondFactor
    login_form: type
    identifier_field: str  # the login form's field naming the account
    sign_ins: object  # app.accounts.sessions.SignIns: where this console's sign-ins are rows
    pending_secret_key: str  # the session key of a secret being set up

    # -- where the console's accounts live --------------------------------------------------

    def authenticate(self, form):
        """The account of the sign-in form's credentials, its sign-in recorded and committed;
        else None, the problem on the form's fields."""
        raise NotImplementedError

    def current_account(self):
        """The signed-in account (any account: the gate checks that it is staff)."""
        raise NotImplementedError

    def staff_of(self, account):
        """The staff record of a signed-in account, the one carrying its second factor; None
        when it is not (active) staff of this console."""
        raise NotImplementedError

    def begin(self, account) -> None:
        """Sign `account` in with its password: a new sign-in (not yet past its second factor,
        whatever this browser passed before)."""
        raise NotImplementedError

    def end(self) -> None:
        """Sign out (the sign-in row goes)."""
        raise NotImplementedError

    def record(self, staff, action: str, **detail) -> None:
        """Add the audit entry of a step to the current transaction."""
        raise NotImplementedError

    def issuer(self) -> str:
        """How the authenticator app names this console."""
        raise NotImplementedError

    def not_staff(self):
        """The answer to a signed-in account that is not staff of this console."""
        raise NotImplementedError

    # -- the session ----------------------------------------------------------------------

    def second_factor_passed(self) -> bool:
        """Whether this sign-in (its row, not the browser) has passed the second factor."""
        row = self.sign_ins.current() if self.current_account() is not None else None
        return row is not None and row.second_factor_at is not None

    def gate(self, stage: str = VERIFIED):
        """None when the request may go on to `stage` (SIGN_IN: a signed-in staff member;
        ENROLLED: who also has a confirmed TOTP; VERIFIED: who also passed the second factor in
        this session), else the answer to give instead: the sign-in page, the set-up page, the
        code page (each coming back here), or the console's refusal."""
        account = self.current_account()
        if account is None:
            return redirect(url_for(f"{self.blueprint}.login", next=current_path()))
        staff = self.staff_of(account)
        if staff is None:
            return self.not_staff()
        if stage == SIGN_IN:
            return None
        if staff.totp_confirmed_at is None:
            return redirect(url_for(f"{self.blueprint}.setup_second_factor"))
        if stage == ENROLLED or self.second_factor_passed():
            return None
        return redirect(url_for(f"{self.blueprint}.second_factor", next=current_path()))

    def required(self, allowed: Callable[[object], bool]):
        """A decorator for the console's views: the gate (VERIFIED), then 403 unless
        `allowed(staff)`."""
        def decorator(view):
            @wraps(view)
            def guarded(*args, **kwargs):
                answer = self.gate()
                if answer is not None:
                    return answer
                if not allowed(self.staff_of(self.current_account())):
                    abort(403)
                return view(*args, **kwargs)

            return guarded

        return decorator

    # -- throttling keys ------------------------------------------------------------------

    def site(self) -> str:
        """Whose attempts these are: the console of one city, or the platform's."""
        return self.blueprint

    def _signed_in_key(self) -> str:
        """Codes count per account (not per sign-in: signing in again opens no new budget)."""
        account = self.current_account()
        who = f"account:{account.id}" if account is not None else request.remote_addr
        return f"{self.site()}:2fa:{who}"

    # -- the pages ------------------------------------------------------------------------

    def _page(self, name: str, **context):
        return render_template(f"{self.templates}/{name}.html", **context)

    def login(self):
        account = self.current_account()
        if account is not None and self.staff_of(account) is not None:
            return redirect(next_path(self.home))
        form = self.login_form()
        if not form.validate_on_submit():
            return self._page("login", form=form), form_status(form)
        account = self.authenticate(form)
        if account is None:
            return self._page("login", form=form), FAILED
        self.begin(account)
        return redirect(next_path(self.home))

    def second_factor(self):
        answer = self.gate(ENROLLED)
        if answer is not None:
            return answer
        if self.second_factor_passed():
            return redirect(next_path(self.home))
        form = SecondFactorForm()
        if not form.validate_on_submit():
            return self._page("second_factor", form=form), form_status(form)
        staff = self.staff_of(self.current_account())
        used = self.factor.verify(staff, form.code.data)
        if used is None:
            db.session.rollback()
            form.code.errors.append(_("That code is not right, or was used already. Enter the "
                                      "code your app shows now, or an unused recovery code."))
            return self._page("second_factor", form=form), FAILED
        if used == RECOVERY_CODE:
            left = self.factor.recovery_codes_left(staff)
            self.record(staff, "staff.recovery_code_used", recovery_codes_left=left)
            flash(_("You used a recovery code; %(count)d are left. Each works once.",
                    count=left), "warning" if left > 2 else "error")
        self.sign_ins.pass_second_factor()
        db.session.commit()
        return redirect(next_path(self.home))

    def setup_second_factor(self):
        answer = self.gate(SIGN_IN)
        if answer is not None:
            return answer
        account = self.current_account()
        staff = self.staff_of(account)
        if staff.totp_confirmed_at is not None:
            return redirect(url_for(self.home))
        secret = pending_secret(session, self.pending_secret_key, str(account.id))
        form = CodeForm()
        status = form_status(form)
        if form.validate_on_submit():
            step = matching_step(secret, form.code.data, None)
            if step is not None:
                codes = self.factor.confirm(staff, secret, step)
                self.record(staff, "staff.second_factor_enrolled", recovery_codes=len(codes))
                self.sign_ins.pass_second_factor()
                db.session.commit()
                session.pop(self.pending_secret_key, None)
                return self._page("recovery_codes", codes=codes)
            form.code.errors.append(_("That code is not right. Check that the app shows the "
                                      "account you just added, and enter the code it shows "
                                      "now."))
            status = FAILED
        label = account.email or getattr(account, "mobile", None) or str(account.id)
        return self._page("setup", form=form,
                          **enrolment(secret, label, self.issuer())), status

    def regenerate_recovery_codes(self):
        """New recovery codes (the old ones stop working), shown once, for a staff member who
        confirms with a current code from their app."""
        answer = self.gate()
        if answer is not None:
            return answer
        form = CodeForm()
        status = form_status(form)
        if form.validate_on_submit():
            staff = self.staff_of(self.current_account())
            if self.factor.check_totp(staff, form.code.data):
                codes = self.factor.new_recovery_codes(staff)
                self.record(staff, "staff.recovery_codes_regenerated", recovery_codes=len(codes))
                db.session.commit()
                return self._page("recovery_codes", codes=codes)
            db.session.rollback()
            form.code.errors.append(_("That code is not right, or was used already. Enter the "
                                      "code your app shows now."))
            status = FAILED
        return self._page("regenerate_codes", form=form), status

    def logout(self):
        self.end()
        flash(_("You are signed out."), "success")
        return redirect(url_for(f"{self.blueprint}.login"))

    def _view(self, page):
        """A view function of `page` named after this console: rate limits are kept per view
        function's name, so each console's pages get limits of their own."""
        def view():
            return page()

        view.__name__ = page.__name__
        view.__qualname__ = f"{type(self).__qualname__}.{page.__name__}"
        view.__module__ = type(self).__module__
        return view

    def add_routes(self, blueprint) -> None:
        """The pages, on the console's blueprint: login, second_factor, setup_second_factor,
        regenerate_recovery_codes, logout."""
        login = sign_in_throttle(self.site, typed_identifier(self.identifier_field))(
            self._view(self.login))
        codes = limiter.limit("10 per 15 minutes", key_func=self._signed_in_key,
                              methods=["POST"], deduct_when=_failed)
        for rule, endpoint, view, methods in (
                ("/login", "login", login, ["GET", "POST"]),
                ("/2fa", "second_factor", codes(self._view(self.second_factor)),
                 ["GET", "POST"]),
                ("/2fa/setup", "setup_second_factor",
                 codes(self._view(self.setup_second_factor)), ["GET", "POST"]),
                ("/2fa/recovery-codes", "regenerate_recovery_codes",
                 codes(self._view(self.regenerate_recovery_codes)), ["GET", "POST"]),
                ("/logout", "logout", self._view(self.logout), ["POST"])):
            blueprint.add_url_rule(self.path + rule, endpoint, view, methods=methods)
