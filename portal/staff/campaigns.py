"""Campaigns and the roster overview: creators' figures side by side, sortable, as a page or CSV."""

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from portal.campaigns.roster import COLUMNS, FILTERS, Roster, Sort, Span, roster_csv
from portal.db import utcnow
from portal.graph.days import meta_day
from portal.htmx import render_page_or_fragment
from portal.ids import parse_id
from portal.models import Campaign, Creator, LedgerEntry, ReportLink
from portal.paging import page_number
from portal.prepared import by_id
from portal.staff import bp
from portal.staff.auth import staff_actor
from portal.staff.forms import CampaignForm

PER_PAGE = 50


def _campaign_or_404(campaign_id):
    return by_id(Campaign, campaign_id) or abort(404)


def _sort():
    return Sort.from_args(request.args.get("sort"), request.args.get("order"))


def _save(form, campaign):
    campaign.name = form.name.data.strip()
    campaign.client = form.client.data.strip()
    campaign.starts_on, campaign.ends_on = form.starts_on.data, form.ends_on.data
    campaign.save()


@bp.get("/campaigns")
@login_required
def campaign_list():
    return render_template("staff/campaign_list.html", campaigns=list(Campaign.listing()))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def campaign_new():
    form = CampaignForm()
    if form.validate_on_submit():
        campaign = Campaign()
        _save(form, campaign)
        LedgerEntry.record("campaign_created", staff_actor(), name=campaign.name, client=campaign.client)
        flash(f"Campaign “{campaign.name}” was created. Add its creators from the creators list.", "success")
        return redirect(url_for("staff.campaign_detail", campaign_id=campaign.id))
    status = 422 if form.errors else 200
    return render_template("staff/campaign_form.html", form=form, campaign=None), status


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def campaign_edit(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    form = CampaignForm(obj=campaign)
    if form.validate_on_submit():
        _save(form, campaign)
        LedgerEntry.record("campaign_changed", staff_actor(), name=campaign.name, client=campaign.client)
        flash("The campaign was saved.", "success")
        return redirect(url_for("staff.campaign_detail", campaign_id=campaign.id))
    status = 422 if form.errors else 200
    return render_template("staff/campaign_form.html", form=form, campaign=campaign), status


@bp.get("/campaigns/<int:campaign_id>")
@login_required
def campaign_detail(campaign_id):
    return campaign_page(_campaign_or_404(campaign_id))


def campaign_page(campaign, status=200, **extra):
    """The campaign page (or its table alone, for an htmx sort); extra: the report link form's state."""
    now = utcnow()
    span = Span.of_campaign(campaign, meta_day(now))
    sort = _sort()
    roster = Roster(span, now, campaign=campaign, kept=current_app.extensions["kept"])
    page = roster.page(sort, page_number(request.args.get("page")), PER_PAGE)
    return render_page_or_fragment(
        "staff/campaign.html",
        "staff/partials/roster_table.html",
        campaign=campaign,
        span=span,
        sort=sort,
        page=page,
        columns=COLUMNS,
        now=now,
        view_args={"campaign_id": campaign.id},
        endpoint="staff.campaign_detail",
        report_links=ReportLink.of_campaign(campaign),
        report_form=extra.pop("report_form", None),  # the form, once asked for (staff/reports.py)
        **extra,
    ), status


@bp.post("/campaigns/add")
@login_required
def campaign_add_creators():
    """Add the ticked creators (several from the list, or one from a profile), then go back there."""
    campaign = by_id(Campaign, parse_id(request.form.get("campaign")) or 0) or abort(404)
    chosen = [parse_id(value) for value in request.form.getlist("creator")]
    added = campaign.add_creators([creator_id for creator_id in chosen if creator_id])
    if added:
        LedgerEntry.record("campaign_creators_added", staff_actor(), name=campaign.name, count=added)
    if not any(chosen):
        flash("Tick at least one creator to add.", "error")
    else:
        flash(f"{added} creator{'' if added == 1 else 's'} added to “{campaign.name}”.", "success")
    back = request.form.get("back")
    if back == "list":
        return redirect(url_for("staff.creator_list"))
    if back == "profile" and len(chosen) == 1 and chosen[0]:
        return redirect(url_for("staff.creator_detail", creator_id=chosen[0]))
    return redirect(url_for("staff.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/creators/<int:creator_id>/remove")
@login_required
def campaign_remove_creator(campaign_id, creator_id):
    campaign = _campaign_or_404(campaign_id)
    creator = by_id(Creator, creator_id) or abort(404)
    if campaign.remove_creator(creator.id):
        LedgerEntry.record("campaign_creator_removed", staff_actor(), creator=creator, name=campaign.name)
        flash(f"{creator.name} was taken off “{campaign.name}”.", "success")
    return redirect(url_for("staff.campaign_detail", campaign_id=campaign.id))


def _overview_roster(now):
    """The overview's roster, from its filters: (roster, the campaign or None, the status filter)."""
    campaign_id = parse_id(request.args.get("campaign"))
    campaign = Campaign.get_or_none(Campaign.id == campaign_id) if campaign_id else None
    status = request.args.get("status") if request.args.get("status") in FILTERS else "all"
    span = Span.of_campaign(campaign, meta_day(now)) if campaign else Span.recent(meta_day(now))
    roster = Roster(span, now, campaign=campaign, status=status, kept=current_app.extensions["kept"])
    return roster, campaign, status


@bp.get("/overview")
@login_required
def overview():
    now = utcnow()
    roster, campaign, status = _overview_roster(now)
    sort = _sort()
    page = roster.page(sort, page_number(request.args.get("page")), PER_PAGE)
    filters = {"campaign": campaign.id if campaign else None, "status": status if status != "all" else None}
    return render_page_or_fragment(
        "staff/overview.html",
        "staff/partials/roster_table.html",
        campaigns=Campaign.choice_list(),
        campaign=campaign,
        status=status,
        filters=FILTERS,
        span=roster.span,
        sort=sort,
        page=page,
        columns=COLUMNS,
        now=now,
        view_args=filters,
        endpoint="staff.overview",
    )


@bp.get("/overview.csv")
@login_required
def overview_csv():
    """Every row the overview's filters select, in its order (all pages), one account a line."""
    roster, _campaign, _status = _overview_roster(utcnow())
    span = roster.span
    filename = f"overview-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    return Response(
        roster_csv(span, roster.rows(_sort())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
