"""Reminders: what the next run would send and what was sent, and a creator's reminders on or off."""

from flask import abort, current_app, request, url_for
from flask_login import login_required

from portal.addresses import link_page_address
from portal.db import utcnow
from portal.htmx import fragment_or_redirect, render_page_or_fragment
from portal.invitation import REMINDERS
from portal.mail import reminders
from portal.models import Creator, LedgerEntry, OutgoingMessage, ReminderSchedule
from portal.prepared import by_id
from portal.staff import bp
from portal.staff.auth import staff_actor

SHOWN = 100  # rows of each list; the counts say how many there are


@bp.get("/reminders")
@login_required
def reminder_list():
    schedule = ReminderSchedule.current()
    return render_page_or_fragment(
        "staff/reminders.html",
        "staff/partials/reminder_lists.html",
        schedule=schedule,
        plan=reminders.plan(utcnow(), schedule.invited_after_days, link_page_address, keep=SHOWN),
        sent=list(OutgoingMessage.recent_of_kinds(REMINDERS, limit=SHOWN)),
        labels={kind: reminder["label"] for kind, reminder in REMINDERS.items()},
        scheduler_can_link=bool(current_app.config.get("BASE_URL")),
    )


@bp.post("/creators/<int:creator_id>/reminders")
@login_required
def creator_reminders(creator_id):
    """Switch a creator's reminders on or off (the form says which); the ledger records a change."""
    creator = by_id(Creator, creator_id) or abort(404)
    enabled = request.form.get("enabled") == "1"
    if creator.reminders_enabled != enabled:
        Creator.update(reminders_enabled=enabled, updated_at=utcnow()).where(
            Creator.id == creator.id
        ).execute()
        LedgerEntry.record("reminders_on" if enabled else "reminders_off", staff_actor(), creator=creator)
        creator.reminders_enabled = enabled
    words = "on: the scheduler may remind them" if enabled else "off: the scheduler sends them no reminder"
    return fragment_or_redirect(
        "staff/partials/reminder_switch.html",
        url_for("staff.creator_link_accounts", creator_id=creator.id),
        message=f"Reminders for {creator.name} are {words}.",
        creator=creator,
    )
