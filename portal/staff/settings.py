"""Administrators' settings: staff accounts, the invitation template, and the reminders."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.db import utcnow
from portal.invitation import PLACEHOLDERS, REMINDERS, render_text, unknown_placeholders
from portal.models import InvitationTemplate, LedgerEntry, ReminderSchedule, ReminderTemplate, Staff
from portal.staff import bp
from portal.staff.auth import admin_required, staff_actor
from portal.staff.forms import InvitationForm, ReminderForm, ReminderScheduleForm, StaffForm

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


@bp.route("/settings/reminders", methods=["GET", "POST"])
@admin_required
def reminder_settings():
    schedule = ReminderSchedule.current()
    form = ReminderScheduleForm(data={"invited_after_days": str(schedule.invited_after_days)})
    if form.validate_on_submit():
        ReminderSchedule.create(invited_after_days=form.days, updated_at=utcnow(), updated_by=current_user.id)
        LedgerEntry.record("reminder_schedule_edited", staff_actor(), days=form.days)
        flash(f"Invitation reminders now go {form.days} days after the invitation.", "success")
        return redirect(url_for("staff.reminder_settings"))
    return render_template(
        "staff/reminder_settings.html",
        form=form,
        schedule=schedule,
        templates=ReminderTemplate.current_all(),
        reminders=REMINDERS,
    ), 422 if form.errors else 200


def _reminder_kind(kind):
    if kind not in REMINDERS:
        abort(404)
    return kind


@bp.route("/settings/reminders/<kind>", methods=["GET", "POST"])
@admin_required
def reminder_edit(kind):
    template = ReminderTemplate.current(_reminder_kind(kind))
    form = ReminderForm(obj=template)
    if form.validate_on_submit():
        ReminderTemplate.create(
            kind=kind,
            subject=form.subject.data,
            body=form.body.data,
            updated_at=utcnow(),
            updated_by=current_user.id,
        )
        label = REMINDERS[kind]["label"]
        LedgerEntry.record("reminder_edited", staff_actor(), label=label, subject=form.subject.data)
        flash(f"{label} template saved.", "success")
        return redirect(url_for("staff.reminder_settings"))
    return render_template(
        "staff/reminder_edit.html",
        form=form,
        kind=kind,
        reminder=REMINDERS[kind],
        placeholders=PLACEHOLDERS,
        template=template,
        **_preview(form.subject.data, form.body.data),
    ), 422 if form.errors else 200


@bp.post("/settings/reminders/<kind>/preview")
@admin_required
def reminder_preview(kind):
    _reminder_kind(kind)
    form = ReminderForm()
    return render_template(
        "staff/partials/invitation_preview.html", **_preview(form.subject.data, form.body.data)
    )
