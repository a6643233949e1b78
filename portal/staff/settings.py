"""Administrators' settings: staff accounts and the invitation template."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.db import utcnow
from portal.invitation import PLACEHOLDERS, render_text, unknown_placeholders
from portal.models import InvitationTemplate, LedgerEntry, Staff
from portal.staff import bp
from portal.staff.auth import admin_required, staff_actor
from portal.staff.forms import InvitationForm, StaffForm

PREVIEW_CREATOR = {"name": "Jamie Rivera", "link": "https://portal.example/link/EXAMPLE-LINK"}


@bp.route("/settings/staff", methods=["GET", "POST"])
@admin_required
def staff_list():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            staff = Staff.register(
                form.email.data,
                form.password.data,
                is_admin=form.is_admin.data,
                method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValueError as exc:
            form.email.errors.append(str(exc))
        else:
            LedgerEntry.record("staff_created", staff_actor(), email=staff.email, is_admin=staff.is_admin)
            flash(f"Staff account created for {staff.email}.", "success")
            return redirect(url_for("staff.staff_list"))
    status = 422 if form.errors else 200
    return render_template("staff/staff_list.html", form=form, staff=Staff.ordered()), status


def _preview(subject, body):
    fill = {**PREVIEW_CREATOR, "company": current_app.config["COMPANY_NAME"]}
    return {
        "preview_subject": render_text(subject, **fill),
        "preview_body": render_text(body, **fill),
        "unknown": unknown_placeholders(subject, body),
    }


@bp.route("/settings/invitation", methods=["GET", "POST"])
@admin_required
def invitation_edit():
    template = InvitationTemplate.current()
    form = InvitationForm(obj=template)
    if form.validate_on_submit():
        InvitationTemplate.create(
            subject=form.subject.data, body=form.body.data, updated_at=utcnow(), updated_by=current_user.id
        )
        LedgerEntry.record("invitation_edited", staff_actor(), subject=form.subject.data)
        flash("Invitation template saved.", "success")
        return redirect(url_for("staff.invitation_edit"))
    context = _preview(form.subject.data, form.body.data)
    status = 422 if form.errors else 200
    return render_template(
        "staff/invitation_edit.html", form=form, placeholders=PLACEHOLDERS, template=template, **context
    ), status


@bp.post("/settings/invitation/preview")
@admin_required
def invitation_preview():
    form = InvitationForm()
    return render_template(
        "staff/partials/invitation_preview.html", **_preview(form.subject.data, form.body.data)
    )
