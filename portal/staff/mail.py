"""Sending invitations by e-mail, one or many, and the outbox: thin views over portal.mail."""

import re
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.addresses import link_page_address
from portal.db import utcnow
from portal.htmx import fragment_or_redirect, render_page_or_fragment
from portal.ids import parse_id
from portal.mail import outgoing
from portal.mail.compose import mime_message
from portal.mail.settings import mail_settings
from portal.models import Creator, InvitationTemplate, MailJob, OutgoingMessage
from portal.paging import page_number
from portal.prepared import by_id
from portal.staff import bp

KIND = "invitation"
_BATCH_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _sending():
    """Return the keyword arguments every queueing call takes, for the signed-in staff member."""
    return {
        "sender": mail_settings(current_app.config).sender,
        "company": current_app.config["COMPANY_NAME"],
        "staff": current_user._get_current_object(),
        "now": utcnow(),
    }


def _letter(creator, link):
    company = current_app.config["COMPANY_NAME"]
    return outgoing.invitation_letter(InvitationTemplate.current(), creator, company, link)


def invitation_state(creator, problem=None, notice=None):
    """Return what the invitation status shows: the creator's latest invitation and where mail goes."""
    return {
        "invitation": OutgoingMessage.latest_of(creator, KIND),
        "mail_via": mail_settings(current_app.config).via,
        "invitation_problem": problem,
        "invitation_notice": notice,
    }


def _status_response(creator, status=200, problem=None, notice=None):
    return fragment_or_redirect(
        "staff/partials/invitation_status.html",
        url_for("staff.creator_link_accounts", creator_id=creator.id),
        status=status,
        message=problem or notice,
        ok=problem is None,
        creator=creator,
        **invitation_state(creator, problem, notice),
    )


@bp.get("/creators/<int:creator_id>/invitation")
@login_required
def invitation_status(creator_id):
    return _status_response(by_id(Creator, creator_id) or abort(404))


@bp.post("/creators/<int:creator_id>/invitation")
@login_required
def invitation_send(creator_id):
    creator = by_id(Creator, creator_id) or abort(404)
    link = link_page_address(creator)
    if not creator.email:
        problem = f"{creator.name} has no e-mail address. Add one with “Edit creator”, then send again."
        return _status_response(creator, 422, problem=problem)
    if not link:
        return _status_response(creator, 422, problem=f"{creator.name} has {outgoing.NO_LINK}.")
    queued = outgoing.queue_message(creator, KIND, _letter(creator, link), **_sending())
    if queued.skipped:
        notice = f"{creator.name} was already invited today; the invitation is not sent twice."
        return _status_response(creator, notice=notice)
    return _status_response(creator, notice=f"Invitation to {creator.email} queued.")


def _chosen():
    """Return the ticked creators (unknown ids left out) and their link addresses."""
    creators = outgoing.chosen_creators(parse_id(value) for value in request.form.getlist("creator"))
    return creators, {creator.id: link_page_address(creator) for creator in creators}


@bp.post("/invitations/preview")
@login_required
def invitations_preview():
    creators, links = _chosen()
    if not creators:
        flash("Tick at least one creator to invite.", "error")
        return redirect(url_for("staff.creator_list"))
    plan = outgoing.plan(KIND, creators, links, utcnow())
    sample = plan.to_send[0] if plan.to_send else None
    return render_template(
        "staff/invitations_preview.html",
        plan=plan,
        creators=creators,
        sample=sample,
        letter=_letter(sample, links[sample.id]) if sample else None,
        sender=mail_settings(current_app.config).sender,
        batch=secrets.token_urlsafe(24),  # one job per form, however often it is sent
    )


@bp.post("/invitations")
@login_required
def invitations_send():
    batch = request.form.get("batch", "")
    creators, links = _chosen()
    if not _BATCH_KEY.fullmatch(batch) or not creators:
        flash("Nothing was sent: choose the creators to invite again.", "error")
        return redirect(url_for("staff.creator_list"))
    sending = _sending()
    plan = outgoing.plan(KIND, creators, links, sending["now"])
    letters = [(creator, _letter(creator, links[creator.id])) for creator in plan.to_send]
    job, _made = outgoing.queue_job(batch, KIND, letters, plan.skipped, **sending)
    return redirect(url_for("staff.mail_job_detail", job_id=job.id))


@bp.get("/invitations/<int:job_id>")
@login_required
def mail_job_detail(job_id):
    job = by_id(MailJob, job_id) or abort(404)
    progress = job.progress()
    return render_page_or_fragment(
        "staff/mail_job.html",
        "staff/partials/mail_job_progress.html",
        job=job,
        progress=progress,
        waiting=progress.get(OutgoingMessage.QUEUED, 0) + progress.get(OutgoingMessage.SENDING, 0),
        failures=list(job.failures()),
        mail_via=mail_settings(current_app.config).via,
    )


@bp.get("/outbox")
@login_required
def outbox():
    page = OutgoingMessage.listing(page_number(request.args.get("page")), current_app.config["PER_PAGE"])
    return render_template(
        "staff/outbox.html",
        page=page,
        headers={message.id: mime_message(message).items() for message in page.items},
        mail_via=mail_settings(current_app.config).via,
    )
