"""Report links for clients (from a campaign or a creator's profile), and keeping a creator out of them."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from portal.addresses import absolute_url
from portal.db import utcnow
from portal.htmx import is_htmx_swap
from portal.models import Campaign, Creator, LedgerEntry, ReportLink
from portal.prepared import by_id
from portal.staff import bp
from portal.staff.auth import staff_actor
from portal.staff.campaigns import campaign_page
from portal.staff.creators import profile_overview
from portal.staff.forms import ReportLinkForm


def _issue(form, **owner):
    """Make the link the form asks for; return its address, shown to staff this once (its hash is kept)."""
    now = utcnow()
    link, token = ReportLink.issue(form.label.data.strip(), staff_actor(), now, days=form.days.data, **owner)
    expires = link.expires_at.strftime("%d %b %Y") if link.expires_at else None
    creator = owner.get("creator")
    LedgerEntry.record(
        "report_link_created", staff_actor(), creator=creator, label=link.label, expires=expires
    )
    return absolute_url("clients.report", report_token=token)


def _new_report(show, owner, **link_owner):
    """Make a report link from the form, or show the form's problems; show(owner) renders its page."""
    form = ReportLinkForm()
    if not form.validate_on_submit():
        return show(owner, status=422, report_form=form)
    return show(owner, new_report_url=_issue(form, **link_owner))


def _report_form(show, owner, links, kind, **route):
    """The form to make a report link: in its section for an htmx swap, else on its page (show(owner)).

    kind: "campaign" or "creator", whose endpoints make the link (…_report_new) and ask for the form.
    """
    form = ReportLinkForm(formdata=None)
    if not is_htmx_swap():
        return show(owner, report_form=form)
    return render_template(
        "staff/partials/report_links.html",
        report_links=links,
        report_form=form,
        create_url=url_for(f"staff.{kind}_report_new", **route),
        form_url=url_for(f"staff.{kind}_report_form", **route),
    )


@bp.get("/campaigns/<int:campaign_id>/reports/new")
@login_required
def campaign_report_form(campaign_id):
    campaign = by_id(Campaign, campaign_id) or abort(404)
    links = ReportLink.of_campaign(campaign)
    return _report_form(campaign_page, campaign, links, "campaign", campaign_id=campaign.id)


@bp.get("/creators/<int:creator_id>/reports/new")
@login_required
def creator_report_form(creator_id):
    creator = by_id(Creator, creator_id) or abort(404)
    return _report_form(
        profile_overview, creator, ReportLink.of_creator(creator), "creator", creator_id=creator.id
    )


@bp.post("/campaigns/<int:campaign_id>/reports")
@login_required
def campaign_report_new(campaign_id):
    campaign = by_id(Campaign, campaign_id) or abort(404)
    return _new_report(campaign_page, campaign, campaign=campaign)


@bp.post("/creators/<int:creator_id>/reports")
@login_required
def creator_report_new(creator_id):
    creator = by_id(Creator, creator_id) or abort(404)
    return _new_report(profile_overview, creator, creator=creator)


@bp.post("/reports/<int:link_id>/revoke")
@login_required
def report_revoke(link_id):
    link = by_id(ReportLink, link_id) or abort(404)
    if link.revoked_at is None:
        ReportLink.update(revoked_at=utcnow()).where(ReportLink.id == link.id).execute()
        LedgerEntry.record("report_link_revoked", staff_actor(), creator=link.creator_id, label=link.label)
        flash(f"The report link for “{link.label}” no longer works.", "success")
    if link.campaign_id:
        return redirect(url_for("staff.campaign_detail", campaign_id=link.campaign_id))
    return redirect(url_for("staff.creator_detail", creator_id=link.creator_id))


@bp.post("/creators/<int:creator_id>/internal-only")
@login_required
def creator_internal_only(creator_id):
    """Keep a creator out of every client report, or let them be shown again (the form says which)."""
    creator = by_id(Creator, creator_id) or abort(404)
    internal = request.form.get("internal_only") == "1"
    if creator.internal_only != internal:
        Creator.update(internal_only=internal).where(Creator.id == creator.id).execute()
        LedgerEntry.record(
            "internal_only" if internal else "shared_with_clients", staff_actor(), creator=creator
        )
    words = "is kept out of every client report" if internal else "may be shown in client reports again"
    flash(f"{creator.name} {words}.", "success")
    return redirect(url_for("staff.creator_detail", creator_id=creator.id))
