"""Staff sign-in and sign-out."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.db import utcnow
from portal.extensions import limiter
from portal.models import LedgerEntry, Staff
from portal.security import safe_next_url
from portal.staff import bp
from portal.staff.forms import LoginForm


def load_staff(user_id):
    """Return the signed-in staff member for Flask-Login, or None for a stale session."""
    return Staff.from_session_id(user_id)


def unauthorized():
    """Send anonymous visitors to sign in; htmx swaps get a 401 and a redirect header."""
    # Only a page can be returned to: after sign-in the browser GETs next, and a POST-only
    # URL (sign-out, remove, new link) would answer 405.
    next_url = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    login_url = url_for("staff.login", next=next_url)
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key():
    return "login-email:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.creator_list"))
    form = LoginForm()
    if form.validate_on_submit():
        staff = Staff.authenticate(
            form.email.data, form.password.data, method=current_app.config["PASSWORD_HASH_METHOD"]
        )
        if staff:
            next_url = safe_next_url(request.args.get("next"), url_for("staff.creator_list"))
            session.clear()  # a fresh session on sign-in: nothing carried over from before
            login_user(staff)
            Staff.update(last_login_at=utcnow()).where(Staff.id == staff.id).execute()
            LedgerEntry.record("signed_in", staff_actor())
            return redirect(next_url)
        form.password.errors.append("That email and password do not match a staff account.")
    return render_template("staff/login.html", form=form), 200 if request.method == "GET" else 422


@bp.post("/logout")
@login_required
def logout():
    current_user.end_sessions()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


def staff_actor():
    """Return the ledger's name for the signed-in staff member: "staff:<email>"."""
    return f"staff:{current_user.email}"


def admin_required(view):
    """Let only administrators through; other staff get a 403 page."""
    from functools import wraps

    from flask import abort

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
